import { QuorumInputError } from '@quorum/shared/errors';
import { type LocalBlob, readBlob, readEnsembleDir, verifyLocalBlob } from './ensemble-dir';
import { EdgeClient, type FetchLike, PublishError } from './http';
import type { PublishProgress } from './progress';

export interface PublishOptions {
  /** Base URL of the edge worker, e.g. https://quorum.example.org or http://127.0.0.1:8787. */
  edge: string;
  /** Publish under this name instead of the manifest's (rewrites the manifest's `name`). */
  name?: string;
  /** Publish as this version instead of the manifest's (rewrites the manifest's `version`). */
  version?: string;
  /** Make this version `latest` once its manifest is accepted. */
  promote?: boolean;
  /** Bearer token (the CLI reads QUORUM_PUBLISH_TOKEN; see tokenFromEnv). */
  token: string;
  fetch?: FetchLike;
  onProgress?: (event: PublishProgress) => void;
  /** Retries per request on network errors, 5xx and 429 (default 4). */
  retries?: number;
  /** First retry delay in ms, doubled per attempt (default 500). */
  retryDelayMs?: number;
  /** Blobs checked/uploaded in parallel (default 4). */
  concurrency?: number;
}

export interface PublishResult {
  name: string;
  version: string;
  /** sha256 of the manifest document as published. */
  manifestSha256: string;
  /** The edge already had this exact version (an idempotent re-publish). */
  existed: boolean;
  blobs: { total: number; uploaded: number; skipped: number };
  bytes: { total: number; uploaded: number };
  promoted: boolean;
  /** The latest version before promotion (null if there was none); undefined without --promote. */
  previousLatest?: string | null;
}

interface ManifestAccepted {
  sha256: string;
  existed: boolean;
}

/**
 * Publish an ensemble directory to the edge in the order that keeps every client safe: blobs first (only those the
 * edge lacks, found with HEAD), then the manifest (which the edge accepts only when all its blobs are present), then
 * `latest` (with `promote`). Interrupted anywhere, the previous latest stays fully served, and running the same
 * publish again resumes: present blobs are skipped and an identical manifest is accepted as already there.
 */
export async function publishEnsemble(dir: string, options: PublishOptions): Promise<PublishResult> {
  if (!options.token) throw new QuorumInputError('missing', 'token', 'a publish token is required');
  const client = new EdgeClient(options.edge, options.fetch ?? fetch, {
    retries: options.retries ?? 4,
    baseDelayMs: options.retryDelayMs ?? 500,
  });
  const progress = options.onProgress ?? (() => {});
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const local = await readEnsembleDir(dir, {
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.version !== undefined ? { version: options.version } : {}),
  });
  const { name, version } = local.manifest;
  const totalBytes = local.blobs.reduce((s, b) => s + b.bytes, 0);

  // 1. Verify every local file against the manifest before sending a byte.
  let verified = 0;
  progress({ phase: 'verify', done: 0, total: local.blobs.length });
  await pool(local.blobs, concurrency, async (b) => {
    await verifyLocalBlob(b);
    progress({ phase: 'verify', done: ++verified, total: local.blobs.length, detail: b.path });
  });

  // 2. Ask the edge which blobs it lacks.
  let checked = 0;
  const missing: LocalBlob[] = [];
  progress({ phase: 'check', done: 0, total: local.blobs.length });
  await pool(local.blobs, concurrency, async (b) => {
    const res = await client.request({ method: 'HEAD', path: `v1/blobs/${b.sha256}`, accept: [404] });
    if (res.status === 404) missing.push(b);
    else if (Number(res.headers.get('Content-Length')) !== b.bytes) {
      throw new PublishError(
        `the edge holds blob ${b.sha256} (${b.path}) with ${res.headers.get('Content-Length')} bytes, expected ${b.bytes}`,
      );
    }
    progress({ phase: 'check', done: ++checked, total: local.blobs.length, detail: b.path });
  });

  // 3. Upload what is missing.
  const uploadTotal = missing.reduce((s, b) => s + b.bytes, 0);
  let uploadedBytes = 0;
  progress({ phase: 'upload', done: 0, total: uploadTotal, unit: 'bytes' });
  await pool(missing, concurrency, async (b) => {
    await client.request({
      method: 'PUT',
      path: `v1/blobs/${b.sha256}`,
      token: options.token,
      body: await readBlob(b),
      headers: { 'Content-Type': b.path.endsWith('.json') ? 'application/json' : 'application/octet-stream' },
    });
    uploadedBytes += b.bytes;
    progress({ phase: 'upload', done: uploadedBytes, total: uploadTotal, unit: 'bytes', detail: b.path });
  });

  // 4. The manifest: from here on the version exists (but is not yet what clients load).
  progress({ phase: 'manifest', done: 0, total: 1, detail: `${name}@${version}` });
  const accepted = await client.json<ManifestAccepted>({
    method: 'PUT',
    path: `v1/ensembles/${name}/${encodeURIComponent(version)}`,
    token: options.token,
    body: local.manifestBytes,
    headers: { 'Content-Type': 'application/json' },
  });
  progress({ phase: 'manifest', done: 1, total: 1, detail: `${name}@${version}` });

  const result: PublishResult = {
    name,
    version,
    manifestSha256: accepted.sha256,
    existed: accepted.existed,
    blobs: {
      total: local.blobs.length,
      uploaded: missing.length,
      skipped: local.blobs.length - missing.length,
    },
    bytes: { total: totalBytes, uploaded: uploadedBytes },
    promoted: false,
  };

  // 5. `latest`, last of all.
  if (options.promote) {
    progress({ phase: 'promote', done: 0, total: 1, detail: `${name}@${version}` });
    const promoted = await setLatest(client, name, version, options.token);
    result.promoted = true;
    result.previousLatest = promoted.previous;
    progress({ phase: 'promote', done: 1, total: 1, detail: `${name}@${version}` });
  }
  progress({ phase: 'done', done: 1, total: 1, detail: `${name}@${version}` });
  return result;
}

export interface EnsembleListing {
  name: string;
  latest: string | null;
}

export interface VersionListing {
  version: string;
  created: string;
  published: string;
  size: number;
  manifestSize: number;
  sha256: string;
}

export interface ReadOptions {
  fetch?: FetchLike;
  retries?: number;
  retryDelayMs?: number;
}

function reader(edge: string, options: ReadOptions) {
  return new EdgeClient(edge, options.fetch ?? fetch, {
    retries: options.retries ?? 2,
    baseDelayMs: options.retryDelayMs ?? 500,
  });
}

/** `quorum publish --list`: every ensemble on the edge with its latest version. */
export async function listEnsembles(edge: string, options: ReadOptions = {}): Promise<EnsembleListing[]> {
  const body = await reader(edge, options).json<{ ensembles: EnsembleListing[] }>({
    method: 'GET',
    path: 'v1/ensembles',
  });
  return body.ensembles;
}

/** The versions of one ensemble, oldest first, and its latest. */
export async function listVersions(
  edge: string,
  name: string,
  options: ReadOptions = {},
): Promise<{ name: string; latest: string | null; versions: VersionListing[] }> {
  return reader(edge, options).json({ method: 'GET', path: `v1/ensembles/${encodeURIComponent(name)}` });
}

/** `quorum publish --rollback VERSION`: point `latest` at an already published version. */
export async function rollback(
  edge: string,
  name: string,
  version: string,
  token: string,
  options: ReadOptions = {},
): Promise<{ name: string; latest: string; previous: string | null }> {
  if (!token) throw new QuorumInputError('missing', 'token', 'a publish token is required');
  return setLatest(reader(edge, options), name, version, token);
}

function setLatest(client: EdgeClient, name: string, version: string, token: string) {
  return client.json<{ name: string; latest: string; previous: string | null }>({
    method: 'POST',
    path: `v1/ensembles/${encodeURIComponent(name)}/latest`,
    token,
    body: JSON.stringify({ version }),
    headers: { 'Content-Type': 'application/json' },
  });
}

export const TOKEN_ENV = 'QUORUM_PUBLISH_TOKEN';

/** The publish token from the environment, or an error that says how to set it. */
export function tokenFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const token = env[TOKEN_ENV]?.trim();
  if (!token) {
    throw new QuorumInputError(
      'missing',
      TOKEN_ENV,
      'is not set: export the token the edge was deployed with (wrangler secret put PUBLISH_TOKEN)',
    );
  }
  return token;
}

/** Run `fn` over `items` with at most `n` in flight; the first failure rejects (the rest finish their current item). */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}
