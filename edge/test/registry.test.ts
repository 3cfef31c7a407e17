import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeEnsemble, sha256, type TestEnsemble } from './fixtures';
import { body, type Edge, startEdge } from './harness';

const IMMUTABLE = 'public, max-age=31536000, immutable';
let edge: Edge;

beforeAll(async () => {
  edge = await startEdge(inject('edgeBundle'));
});
afterAll(() => edge?.dispose());

async function uploadBlobs(e: TestEnsemble) {
  for (const [id, bytes] of e.blobs) {
    const res = await edge.authed(`/v1/blobs/${id}`, { method: 'PUT', body: bytes });
    expect(res.status).toBeLessThan(300);
  }
}

const putManifest = (name: string, version: string, body: Uint8Array | string) =>
  edge.authed(`/v1/ensembles/${name}/${version}`, { method: 'PUT', body });

const promote = (name: string, version: string) =>
  edge.authed(`/v1/ensembles/${name}/latest`, { method: 'POST', body: JSON.stringify({ version }) });

async function publish(e: TestEnsemble, { latest = true } = {}) {
  await uploadBlobs(e);
  const res = await putManifest(e.manifest.name, e.manifest.version, e.manifestBytes);
  expect(res.status, await res.clone().text()).toBe(201);
  if (latest) expect((await promote(e.manifest.name, e.manifest.version)).status).toBe(200);
}

/** Everything a browser would load for `latest`: the manifest, then every file it names, byte for byte. */
async function expectLatestServes(name: string, e: TestEnsemble) {
  const res = await edge.fetch(`/v1/ensembles/${name}/latest`);
  expect(res.status).toBe(200);
  expect(new Uint8Array(await res.arrayBuffer())).toEqual(e.manifestBytes);
  for (const [id, bytes] of e.blobs) {
    const blob = await edge.fetch(`/v1/blobs/${id}`);
    expect(blob.status).toBe(200);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(bytes);
  }
}

describe('publishing and reading an ensemble', () => {
  const v1 = makeEnsemble({ name: 'nuclei', version: '1.0.0' });
  const v2 = makeEnsemble({ name: 'nuclei', version: '1.1.0' });
  beforeAll(async () => {
    await publish(v1);
  });

  it('GET /v1/ensembles lists names with their latest version', async () => {
    const res = await edge.fetch('/v1/ensembles');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect((await body(res)).ensembles).toContainEqual({ name: 'nuclei', latest: '1.0.0' });
  });

  it('GET /v1/ensembles/:name lists versions with created, size and manifest sha256', async () => {
    const res = await edge.fetch('/v1/ensembles/nuclei');
    expect(res.status).toBe(200);
    const json = await body(res);
    expect(json.latest).toBe('1.0.0');
    const size = [...v1.files.values()].reduce((s, b) => s + b.byteLength, 0);
    expect(json.versions).toEqual([
      {
        version: '1.0.0',
        created: v1.manifest.created,
        published: expect.any(String),
        size,
        manifestSize: v1.manifestBytes.byteLength,
        sha256: sha256(v1.manifestBytes),
      },
    ]);
  });

  it('GET /v1/ensembles/:name/:version serves the manifest as published, immutable', async () => {
    const res = await edge.fetch('/v1/ensembles/nuclei/1.0.0');
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe(IMMUTABLE);
    expect(res.headers.get('ETag')).toBe(`"${sha256(v1.manifestBytes)}"`);
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(v1.manifestBytes);
  });

  it('GET /v1/ensembles/:name/latest is short-lived and revalidates with its ETag', async () => {
    const res = await edge.fetch('/v1/ensembles/nuclei/latest');
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=30, must-revalidate');
    expect(res.headers.get('X-Quorum-Version')).toBe('1.0.0');
    expect(res.headers.get('Content-Location')).toBe('/v1/ensembles/nuclei/1.0.0');
    const etag = res.headers.get('ETag')!;
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(v1.manifestBytes);
    const again = await edge.fetch('/v1/ensembles/nuclei/latest', { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('Cache-Control')).toBe('public, max-age=30, must-revalidate');
    await again.arrayBuffer();
  });

  it('HEAD works on registry routes', async () => {
    const res = await edge.fetch('/v1/ensembles/nuclei/1.0.0', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Length')).toBe(String(v1.manifestBytes.byteLength));
  });

  it('an interrupted publish (blobs up, no manifest) leaves the old latest fully served', async () => {
    await uploadBlobs(v2);
    await expectLatestServes('nuclei', v1);
    // Manifest registered but not promoted: still the old latest.
    expect((await putManifest('nuclei', '1.1.0', v2.manifestBytes)).status).toBe(201);
    await expectLatestServes('nuclei', v1);
    expect((await body(await edge.fetch('/v1/ensembles'))).ensembles).toContainEqual({
      name: 'nuclei',
      latest: '1.0.0',
    });
  });

  it('promotes and rolls back', async () => {
    const up = await promote('nuclei', '1.1.0');
    expect(up.status).toBe(200);
    expect(await body(up)).toEqual({ name: 'nuclei', latest: '1.1.0', previous: '1.0.0' });
    await expectLatestServes('nuclei', v2);
    expect((await promote('nuclei', '1.0.0')).status).toBe(200);
    await expectLatestServes('nuclei', v1);
    expect((await promote('nuclei', '1.1.0')).status).toBe(200);
  });

  it('honours If-Match / If-None-Match on promote (412 when latest moved)', async () => {
    const seen = await edge.fetch('/v1/ensembles/nuclei/latest');
    const etag = seen.headers.get('ETag')!;
    await seen.arrayBuffer();
    const promoteIf = (version: string, headers: Record<string, string>) =>
      edge.authed('/v1/ensembles/nuclei/latest', {
        method: 'POST',
        body: JSON.stringify({ version }),
        headers,
      });
    const stale = await promoteIf('1.0.0', { 'If-Match': `"${'0'.repeat(64)}"` });
    expect(stale.status).toBe(412);
    expect(await body(stale)).toMatchObject({ latest: '1.1.0' });
    expect((await promoteIf('1.1.0', { 'If-None-Match': '*' })).status).toBe(412);
    expect((await promoteIf('1.1.0', { 'If-Match': etag })).status).toBe(200);
  });

  it('refuses to promote a version that does not exist, or a bad body', async () => {
    expect((await promote('nuclei', '9.9.9')).status).toBe(404);
    const bad = await edge.authed('/v1/ensembles/nuclei/latest', { method: 'POST', body: '{"v":1}' });
    expect(bad.status).toBe(400);
    const notJson = await edge.authed('/v1/ensembles/nuclei/latest', { method: 'POST', body: 'nope' });
    expect(notJson.status).toBe(400);
    const reserved = await promote('nuclei', 'latest');
    expect(reserved.status).toBe(400);
  });

  it('never overwrites a version; re-sending the identical manifest is an idempotent success', async () => {
    const other = makeEnsemble({ name: 'nuclei', version: '1.0.0' });
    await uploadBlobs(other);
    const clash = await putManifest('nuclei', '1.0.0', other.manifestBytes);
    expect(clash.status).toBe(409);
    expect((await body(clash)).error).toMatch(/already exists/);
    const same = await putManifest('nuclei', '1.0.0', v1.manifestBytes);
    expect(same.status).toBe(200);
    expect(await body(same)).toMatchObject({ existed: true, sha256: sha256(v1.manifestBytes) });
    const served = await edge.fetch('/v1/ensembles/nuclei/1.0.0');
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(v1.manifestBytes);
  });

  it('re-sending a manifest repairs a publish that died between its registry writes', async () => {
    const e = makeEnsemble({ name: 'repair', version: '1' });
    await publish(e, { latest: false });
    // Simulate the crash: the version record was written, the ensemble marker was not.
    await edge.kv.delete('e/repair');
    expect((await body(await edge.fetch('/v1/ensembles'))).ensembles).not.toContainEqual(
      expect.objectContaining({ name: 'repair' }),
    );
    expect((await putManifest('repair', '1', e.manifestBytes)).status).toBe(200);
    expect((await body(await edge.fetch('/v1/ensembles'))).ensembles).toContainEqual({
      name: 'repair',
      latest: null,
    });
  });

  it('refuses to delete latest; deletes another version, which stays reserved', async () => {
    const refused = await edge.authed('/v1/ensembles/nuclei/1.1.0', { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect((await body(refused)).error).toMatch(/is latest/);
    const ok = await edge.authed('/v1/ensembles/nuclei/1.0.0', { method: 'DELETE' });
    expect(ok.status).toBe(200);
    expect((await edge.fetch('/v1/ensembles/nuclei/1.0.0')).status).toBe(404);
    const versions = (await body(await edge.fetch('/v1/ensembles/nuclei'))).versions;
    expect(versions.map((v: { version: string }) => v.version)).toEqual(['1.1.0']);
    expect((await edge.authed('/v1/ensembles/nuclei/1.0.0', { method: 'DELETE' })).status).toBe(404);
    // The deleted version's name cannot be reused for other content (clients may have it cached as immutable).
    const other = makeEnsemble({ name: 'nuclei', version: '1.0.0' });
    await uploadBlobs(other);
    expect((await putManifest('nuclei', '1.0.0', other.manifestBytes)).status).toBe(409);
    // The blobs of the deleted version stay (content-addressed, possibly shared).
    for (const id of v1.blobs.keys())
      expect((await edge.fetch(`/v1/blobs/${id}`, { method: 'HEAD' })).status).toBe(200);
    await expectLatestServes('nuclei', v2);
  });
});

describe('manifest checks', () => {
  it('refuses a manifest naming a blob the edge lacks, listing it', async () => {
    const e = makeEnsemble({ name: 'partial', version: '1' });
    const [skipped, ...rest] = [...e.blobs.keys()];
    for (const id of rest) {
      await edge.authed(`/v1/blobs/${id}`, { method: 'PUT', body: e.blobs.get(id)! });
    }
    const res = await putManifest('partial', '1', e.manifestBytes);
    expect(res.status).toBe(422);
    const json = await body(res);
    expect(json.error).toMatch(/upload blobs first/);
    expect(json.missing).toEqual([{ path: expect.any(String), sha256: skipped }]);
    expect((await edge.fetch('/v1/ensembles/partial/1')).status).toBe(404);
    expect((await edge.fetch('/v1/ensembles/partial')).status).toBe(404);
  });

  it('refuses a manifest whose sizes do not match the stored blobs', async () => {
    const e = makeEnsemble({ name: 'sizes', version: '1' });
    await uploadBlobs(e);
    const lying = structuredClone(e.manifest);
    lying.members[0]!.files[1]!.bytes += 1;
    const res = await putManifest('sizes', '1', JSON.stringify(lying));
    expect(res.status).toBe(422);
    expect((await body(res)).wrongSize).toEqual([
      expect.objectContaining({
        path: lying.members[0]!.files[1]!.path,
        expected: lying.members[0]!.files[1]!.bytes,
      }),
    ]);
  });

  it('refuses invalid JSON, schema errors (naming the field) and URL/manifest mismatches', async () => {
    const e = makeEnsemble({ name: 'checks', version: '2' });
    await uploadBlobs(e);
    expect((await putManifest('checks', '2', '{not json')).status).toBe(400);
    const broken = structuredClone(e.manifest) as unknown as { members: { files: { sha256: string }[] }[] };
    broken.members[0]!.files[0]!.sha256 = 'XYZ';
    const schema = await putManifest('checks', '2', JSON.stringify(broken));
    expect(schema.status).toBe(400);
    expect((await body(schema)).field).toBe('members[0].files[0].sha256');
    expect((await putManifest('other', '2', e.manifestBytes)).status).toBe(400);
    expect((await putManifest('checks', '3', e.manifestBytes)).status).toBe(400);
    expect((await putManifest('checks', 'latest', e.manifestBytes)).status).toBe(400);
    expect((await putManifest('checks', '2', e.manifestBytes)).status).toBe(201);
  });

  it('an ensemble with versions but no latest is listed with latest null and 404s /latest', async () => {
    const e = makeEnsemble({ name: 'unpromoted', version: '0.1.0' });
    await publish(e, { latest: false });
    expect((await body(await edge.fetch('/v1/ensembles'))).ensembles).toContainEqual({
      name: 'unpromoted',
      latest: null,
    });
    const res = await edge.fetch('/v1/ensembles/unpromoted/latest');
    expect(res.status).toBe(404);
    expect((await body(res)).error).toMatch(/no latest/);
    // Deleting its only version removes the ensemble.
    expect((await edge.authed('/v1/ensembles/unpromoted/0.1.0', { method: 'DELETE' })).status).toBe(200);
    expect((await edge.fetch('/v1/ensembles/unpromoted')).status).toBe(404);
    expect((await body(await edge.fetch('/v1/ensembles'))).ensembles).not.toContainEqual(
      expect.objectContaining({ name: 'unpromoted' }),
    );
  });
});

describe('promote preconditions without a latest', () => {
  it('If-Match fails and If-None-Match: * passes once (first promotion only)', async () => {
    const e = makeEnsemble({ name: 'fresh', version: '1' });
    await publish(e, { latest: false });
    const promoteIf = (headers: Record<string, string>) =>
      edge.authed('/v1/ensembles/fresh/latest', {
        method: 'POST',
        body: JSON.stringify({ version: '1' }),
        headers,
      });
    expect((await promoteIf({ 'If-Match': '*' })).status).toBe(412);
    expect((await promoteIf({ 'If-None-Match': '*' })).status).toBe(200);
    expect((await promoteIf({ 'If-None-Match': '*' })).status).toBe(412);
    await expectLatestServes('fresh', e);
  });
});

describe('routing', () => {
  it('404s unknown ensembles, versions and routes with JSON errors', async () => {
    for (const path of [
      '/v1/ensembles/ghost',
      '/v1/ensembles/ghost/latest',
      '/v1/ensembles/ghost/1',
      '/v1/nope',
      '/v1',
    ]) {
      const res = await edge.fetch(path);
      expect(res.status, path).toBe(404);
      expect(await body(res), path).toEqual({ error: expect.any(String) });
    }
  });

  it('405s a known path with the wrong method, with Allow', async () => {
    const res = await edge.fetch('/v1/ensembles', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe('GET, HEAD');
    const blob = await edge.fetch(`/v1/blobs/${'a'.repeat(64)}`, { method: 'DELETE' });
    expect(blob.status).toBe(405);
    expect(blob.headers.get('Allow')).toContain('PUT');
  });
});
