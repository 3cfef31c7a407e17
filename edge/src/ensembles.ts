import { requirePublisher } from './auth';
import type { RouteContext } from './blobs';
import { readJson, readLimited, sha256Hex } from './body';
import { matchFails, noneMatch } from './conditional';
import { IMMUTABLE, SHORT_LIVED } from './headers';
import { HttpError, json, quote } from './http';
import { manifestKey } from './keys';
import { MAX_MANIFEST_BYTES, MAX_PROMOTE_BYTES } from './limits';
import { parsePublishedManifest, requireBlobs } from './manifests';
import { checkName, checkVersion } from './names';
import { serveObject } from './objects';
import { Registry, type VersionRecord } from './registry';

/**
 * Registry routes. Publishing is ordered so that a client never sees a half-published ensemble:
 *   1. blobs (PUT /v1/blobs/:sha256), each verified by hash;
 *   2. the manifest (PUT .../:version), accepted only when all its blobs are present, written once to R2 and
 *      only then registered in KV;
 *   3. `latest` (POST .../latest), which only ever names a registered version.
 * A publish killed between any two steps leaves the previous `latest`, and everything it names, untouched.
 */

const registry = (c: RouteContext) => new Registry(c.env.REGISTRY);

export async function listEnsembles(_request: Request, _params: object, c: RouteContext) {
  return json({ ensembles: await registry(c).listEnsembles() });
}

export async function getEnsemble(_request: Request, params: { name: string }, c: RouteContext) {
  const name = checkName(params.name);
  const reg = registry(c);
  const [versions, latest] = await Promise.all([reg.listVersions(name), reg.getLatest(name)]);
  if (versions.length === 0 && latest === null) throw new HttpError(404, `no ensemble ${quote(name)}`);
  return json({ name, latest, versions });
}

export async function getLatestManifest(request: Request, params: { name: string }, c: RouteContext) {
  const name = checkName(params.name);
  const reg = registry(c);
  const version = await reg.getLatest(name);
  if (version === null) throw new HttpError(404, `ensemble ${quote(name)} has no latest version`);
  const record = await reg.getVersion(name, version);
  if (!record) throw new Error(`latest of ${name} names unregistered version ${version}`);
  return serveManifest(request, c, name, record, SHORT_LIVED, {
    'Content-Location': `/v1/ensembles/${name}/${version}`,
    'X-Quorum-Version': version,
  });
}

export async function getVersionManifest(
  request: Request,
  params: { name: string; version: string },
  c: RouteContext,
) {
  const name = checkName(params.name);
  const version = checkVersion(params.version);
  const record = await registry(c).getVersion(name, version);
  if (!record) throw new HttpError(404, `no version ${quote(version)} of ensemble ${quote(name)}`);
  return serveManifest(request, c, name, record, IMMUTABLE, { 'X-Quorum-Version': version });
}

function serveManifest(
  request: Request,
  c: RouteContext,
  name: string,
  record: VersionRecord,
  cacheControl: string,
  headers: Record<string, string>,
) {
  return serveObject({
    request,
    ctx: c.ctx,
    bucket: c.env.BLOBS,
    key: manifestKey(name, record.version),
    // `latest` shares the versioned manifest's cache entry: the bytes are the same.
    cacheUrl: new URL(`/v1/ensembles/${name}/${record.version}`, request.url).href,
    sha256: record.sha256,
    cacheControl,
    defaultContentType: 'application/json',
    headers,
  });
}

/**
 * PUT /v1/ensembles/:name/:version. The R2 write is conditional (`If-None-Match: *`), which R2 applies atomically:
 * of two racing publishers of one version exactly one wins, and a version, once written, is never overwritten —
 * not even after DELETE, whose R2 object stays as a tombstone. Re-sending the identical manifest is a no-op success,
 * so a publish that died after the R2 write can simply be retried.
 */
export async function putManifest(
  request: Request,
  params: { name: string; version: string },
  c: RouteContext,
) {
  const name = checkName(params.name);
  const version = checkVersion(params.version);
  await requirePublisher(request, c.env);
  const bytes = await readLimited(request, MAX_MANIFEST_BYTES, 'manifest');
  const { manifest, files, size } = parsePublishedManifest(bytes, name, version);
  const sha256 = await sha256Hex(bytes);
  const key = manifestKey(name, version);
  // Fast refusal of an overwrite before the blob check; the conditional put below is what guarantees it.
  const prior = await c.env.BLOBS.head(key);
  if (prior && prior.customMetadata?.['sha256'] !== sha256) throw overwrite(name, version, prior);
  await requireBlobs(c.env.BLOBS, files);

  const written = await c.env.BLOBS.put(key, bytes, {
    onlyIf: new Headers({ 'If-None-Match': '*' }),
    sha256,
    httpMetadata: { contentType: 'application/json' },
    customMetadata: { sha256 },
  });
  const reg = registry(c);
  let created = true;
  if (!written) {
    const existing = await c.env.BLOBS.head(key);
    if (existing?.customMetadata?.['sha256'] !== sha256) throw overwrite(name, version, existing);
    created = false;
  }
  const existingRecord = created ? null : await reg.getVersion(name, version);
  const record: VersionRecord = existingRecord ?? {
    version,
    created: manifest.created,
    published: new Date().toISOString(),
    size,
    manifestSize: bytes.byteLength,
    sha256,
  };
  // Also on a retry: a publish that died between the two KV writes is repaired by sending the manifest again.
  await reg.putVersion(name, record);
  return json({ name, ...record, existed: !created }, created ? 201 : 200);
}

function overwrite(name: string, version: string, existing: R2Object | null): HttpError {
  return new HttpError(409, `version ${quote(version)} of ${quote(name)} already exists with other content`, {
    sha256: existing?.customMetadata?.['sha256'] ?? null,
  });
}

/** POST /v1/ensembles/:name/latest `{ "version": ... }`: promote or roll back to any registered version. */
export async function setLatest(request: Request, params: { name: string }, c: RouteContext) {
  const name = checkName(params.name);
  await requirePublisher(request, c.env);
  const body = await readJson(request, MAX_PROMOTE_BYTES, 'request body');
  const raw = (body as { version?: unknown } | null)?.version;
  if (typeof raw !== 'string') throw new HttpError(400, 'body must be { "version": "<version>" }');
  const version = checkVersion(raw);
  const reg = registry(c);
  if (!(await reg.getVersion(name, version))) {
    throw new HttpError(404, `no version ${quote(version)} of ensemble ${quote(name)} to promote`);
  }
  const previous = await reg.getLatest(name);
  await checkLatestPreconditions(request, reg, name, previous);
  await reg.setLatest(name, version);
  return json({ name, latest: version, previous });
}

/**
 * Optional preconditions on `latest`, whose ETag is its manifest's sha256 (as served by GET .../latest):
 * `If-Match: "<sha>"` moves latest only if it is still what the caller saw; `If-None-Match: *` only if there is
 * none yet. KV has no compare-and-set, so this guards against stale decisions, not against two simultaneous writers.
 */
async function checkLatestPreconditions(
  request: Request,
  reg: Registry,
  name: string,
  current: string | null,
) {
  const ifMatch = request.headers.get('If-Match');
  const ifNoneMatch = request.headers.get('If-None-Match');
  if (ifMatch === null && ifNoneMatch === null) return;
  const record = current === null ? null : await reg.getVersion(name, current);
  const etag = record ? `"${record.sha256}"` : null;
  if (matchFails(ifMatch, etag) || noneMatch(ifNoneMatch, etag)) {
    throw new HttpError(412, `latest of ${quote(name)} is ${current === null ? 'unset' : quote(current)}`, {
      latest: current,
    });
  }
}

/**
 * DELETE /v1/ensembles/:name/:version unlists a version. Refused while it is `latest` (roll back first), so
 * deleting can never break what clients are told to load. Blobs stay: they are shared by content across versions,
 * and an unreferenced-blob sweep is an operator's job (see edge/README.md).
 */
export async function deleteVersion(
  request: Request,
  params: { name: string; version: string },
  c: RouteContext,
) {
  const name = checkName(params.name);
  const version = checkVersion(params.version);
  await requirePublisher(request, c.env);
  const reg = registry(c);
  if (!(await reg.getVersion(name, version))) {
    throw new HttpError(404, `no version ${quote(version)} of ensemble ${quote(name)}`);
  }
  if ((await reg.getLatest(name)) === version) {
    throw new HttpError(409, `version ${quote(version)} is latest of ${quote(name)}; promote another first`);
  }
  await reg.deleteVersion(name, version);
  return json({ name, version, deleted: true });
}
