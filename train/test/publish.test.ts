import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isQuorumInputError } from '@quorum/shared/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEnsemble, type TestEnsemble, writeEnsembleDir } from '../../edge/test/fixtures';
import {
  createProgressReporter,
  listEnsembles,
  PublishError,
  type PublishProgress,
  publishEnsemble,
  rollback,
  tokenFromEnv,
} from '../src/publish';

const TOKEN = 'secret-token';
const EDGE = 'https://edge.test';
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/**
 * An in-memory stand-in for the edge's HTTP contract (the real worker is exercised by test/edge-publish.test.ts):
 * enough to observe what the publisher sends, in which order, and how it copes with failures.
 */
class FakeEdge {
  blobs = new Map<string, Uint8Array>();
  manifests = new Map<string, Uint8Array>();
  latest = new Map<string, string>();
  log: string[] = [];
  /** Responses (or thrown errors) to inject, consumed by requests whose "METHOD path" matches. */
  faults: { match: RegExp; status?: number; throws?: boolean }[] = [];

  fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input);
    const method = init.method ?? 'GET';
    const line = `${method} ${url.pathname}`;
    this.log.push(line);
    const fault = this.faults.findIndex((f) => f.match.test(line));
    if (fault >= 0) {
      const f = this.faults.splice(fault, 1)[0]!;
      if (f.throws) throw new TypeError('fetch failed: ECONNRESET');
      return Response.json({ error: 'injected' }, { status: f.status });
    }
    const authed = new Headers(init.headers).get('Authorization') === `Bearer ${TOKEN}`;
    const body =
      init.body === undefined ? undefined : new Uint8Array(await new Response(init.body).arrayBuffer());
    const blobRoute = /^\/v1\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    const versionRoute = /^\/v1\/ensembles\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const latestRoute = /^\/v1\/ensembles\/([^/]+)\/latest$/.exec(url.pathname);
    if (blobRoute) {
      const m = blobRoute;
      const id = m[1]!;
      if (method === 'HEAD') {
        const b = this.blobs.get(id);
        return b
          ? new Response(null, { headers: { 'Content-Length': String(b.byteLength) } })
          : new Response(null, { status: 404 });
      }
      if (method === 'PUT') {
        if (!authed) return Response.json({ error: 'invalid bearer token' }, { status: 401 });
        if (sha(body!) !== id) return Response.json({ error: 'hash' }, { status: 422 });
        this.blobs.set(id, body!);
        return Response.json({ sha256: id, created: true }, { status: 201 });
      }
    }
    if (versionRoute && method === 'PUT') {
      const m = versionRoute;
      if (!authed) return Response.json({ error: 'invalid bearer token' }, { status: 401 });
      const key = `${m[1]}@${decodeURIComponent(m[2]!)}`;
      const prior = this.manifests.get(key);
      if (prior && sha(prior) !== sha(body!)) return Response.json({ error: 'exists' }, { status: 409 });
      this.manifests.set(key, body!);
      return Response.json({ sha256: sha(body!), existed: !!prior }, { status: prior ? 200 : 201 });
    }
    if (latestRoute && method === 'POST') {
      const m = latestRoute;
      if (!authed) return Response.json({ error: 'invalid bearer token' }, { status: 401 });
      const { version } = JSON.parse(new TextDecoder().decode(body));
      if (!this.manifests.has(`${m[1]}@${version}`)) return Response.json({ error: 'no' }, { status: 404 });
      const previous = this.latest.get(m[1]!) ?? null;
      this.latest.set(m[1]!, version);
      return Response.json({ name: m[1], latest: version, previous });
    }
    if (url.pathname === '/v1/ensembles' && method === 'GET') {
      const names = new Set([...this.manifests.keys()].map((k) => k.split('@')[0]!));
      return Response.json({
        ensembles: [...names].map((name) => ({ name, latest: this.latest.get(name) ?? null })),
      });
    }
    return Response.json({ error: 'no route' }, { status: 404 });
  };
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function ensembleDir(e: TestEnsemble): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'quorum-publish-'));
  dirs.push(dir);
  return writeEnsembleDir(dir, e);
}

const fast = { retryDelayMs: 1 };

describe('publishEnsemble', () => {
  it('uploads blobs, then the manifest, then latest, and reports progress', async () => {
    const e = makeEnsemble({ name: 'cells', version: '1.0.0', members: 3 });
    const edge = new FakeEdge();
    const events: PublishProgress[] = [];
    const result = await publishEnsemble(await ensembleDir(e), {
      edge: EDGE,
      token: TOKEN,
      promote: true,
      fetch: edge.fetch,
      onProgress: (p) => events.push(p),
      ...fast,
    });
    expect(result).toMatchObject({
      name: 'cells',
      version: '1.0.0',
      manifestSha256: sha(e.manifestBytes),
      existed: false,
      blobs: { total: 6, uploaded: 6, skipped: 0 },
      promoted: true,
      previousLatest: null,
    });
    expect(result.bytes.uploaded).toBe(result.bytes.total);
    expect([...edge.blobs.keys()].sort()).toEqual([...e.blobs.keys()].sort());
    expect(edge.manifests.get('cells@1.0.0')).toEqual(e.manifestBytes);
    expect(edge.latest.get('cells')).toBe('1.0.0');
    // Order: every blob PUT before the manifest, the manifest before latest.
    const lastBlobPut = edge.log.map((l) => l.startsWith('PUT /v1/blobs/')).lastIndexOf(true);
    const manifestPut = edge.log.indexOf('PUT /v1/ensembles/cells/1.0.0');
    const promote = edge.log.indexOf('POST /v1/ensembles/cells/latest');
    expect(lastBlobPut).toBeLessThan(manifestPut);
    expect(manifestPut).toBeLessThan(promote);
    expect(events.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1])).toEqual([
      'verify',
      'check',
      'upload',
      'manifest',
      'promote',
      'done',
    ]);
    const lastUpload = events.filter((p) => p.phase === 'upload').at(-1)!;
    expect(lastUpload.done).toBe(lastUpload.total);
  });

  it('uploads only the blobs the edge lacks (HEAD first) and is idempotent', async () => {
    const e = makeEnsemble({ name: 'cells', version: '2' });
    const edge = new FakeEdge();
    const [first] = e.blobs;
    edge.blobs.set(first![0], first![1]);
    const dir = await ensembleDir(e);
    const a = await publishEnsemble(dir, { edge: EDGE, token: TOKEN, fetch: edge.fetch, ...fast });
    expect(a.blobs).toEqual({ total: 4, uploaded: 3, skipped: 1 });
    expect(a.promoted).toBe(false);
    expect(edge.latest.size).toBe(0);
    edge.log = [];
    const b = await publishEnsemble(dir, { edge: EDGE, token: TOKEN, fetch: edge.fetch, ...fast });
    expect(b).toMatchObject({ existed: true, blobs: { uploaded: 0, skipped: 4 }, bytes: { uploaded: 0 } });
    expect(edge.log.filter((l) => l.startsWith('PUT /v1/blobs'))).toEqual([]);
  });

  it('retries network errors, 5xx and 429, then succeeds', async () => {
    const e = makeEnsemble({ name: 'cells', version: '3' });
    const edge = new FakeEdge();
    edge.faults = [
      { match: /^HEAD /, throws: true },
      { match: /^PUT \/v1\/blobs/, status: 503 },
      { match: /^PUT \/v1\/blobs/, status: 429 },
      { match: /^PUT \/v1\/ensembles/, status: 500 },
      { match: /^POST /, throws: true },
    ];
    const result = await publishEnsemble(await ensembleDir(e), {
      edge: EDGE,
      token: TOKEN,
      promote: true,
      fetch: edge.fetch,
      ...fast,
    });
    expect(result.promoted).toBe(true);
    expect(edge.faults).toEqual([]);
    expect(edge.blobs.size).toBe(4);
  });

  it('gives up after `retries` attempts with the edge error', async () => {
    const e = makeEnsemble({ name: 'cells', version: '4' });
    const edge = new FakeEdge();
    edge.faults = Array.from({ length: 3 }, () => ({ match: /^PUT \/v1\/ensembles/, status: 503 }));
    const err = await publishEnsemble(await ensembleDir(e), {
      edge: EDGE,
      token: TOKEN,
      fetch: edge.fetch,
      retries: 2,
      ...fast,
    }).catch((x) => x);
    expect(err).toBeInstanceOf(PublishError);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/injected/);
    expect(edge.log.filter((l) => l.startsWith('PUT /v1/ensembles'))).toHaveLength(3);
  });

  it('does not retry a refusal (401) and names the reason', async () => {
    const e = makeEnsemble({ name: 'cells', version: '5' });
    const edge = new FakeEdge();
    const err = await publishEnsemble(await ensembleDir(e), {
      edge: EDGE,
      token: 'wrong',
      fetch: edge.fetch,
      ...fast,
    }).catch((x) => x);
    expect(err).toBeInstanceOf(PublishError);
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/invalid bearer token/);
    expect(edge.log.filter((l) => l.startsWith('PUT'))).toHaveLength(1);
  });

  it('refuses a directory whose files do not match the manifest, before any upload', async () => {
    const e = makeEnsemble({ name: 'cells', version: '6' });
    const dir = await ensembleDir(e);
    const victim = [...e.files.keys()][1]!;
    const original = e.files.get(victim)!;
    const tampered = new Uint8Array(original);
    tampered[0] = tampered[0]! ^ 0xff;
    await writeFile(join(dir, victim), tampered);
    const edge = new FakeEdge();
    const err = await publishEnsemble(dir, { edge: EDGE, token: TOKEN, fetch: edge.fetch }).catch((x) => x);
    expect(isQuorumInputError(err)).toBe(true);
    expect(err.subject).toBe(victim);
    expect(err.message).toMatch(/sha256/);
    await writeFile(join(dir, victim), original.subarray(1));
    const short = await publishEnsemble(dir, { edge: EDGE, token: TOKEN, fetch: edge.fetch }).catch((x) => x);
    expect(short.message).toMatch(/bytes/);
    await rm(join(dir, victim));
    const gone = await publishEnsemble(dir, { edge: EDGE, token: TOKEN, fetch: edge.fetch }).catch((x) => x);
    expect(gone.code).toBe('missing');
    expect(edge.log).toEqual([]);
  });

  it('refuses a directory without ensemble.json or with an invalid one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quorum-publish-'));
    dirs.push(dir);
    const opts = { edge: EDGE, token: TOKEN, fetch: new FakeEdge().fetch };
    expect((await publishEnsemble(dir, opts).catch((x) => x)).message).toMatch(/ensemble\.json/);
    await writeFile(join(dir, 'ensemble.json'), '{"schema":"nope"}');
    const bad = await publishEnsemble(dir, opts).catch((x) => x);
    expect(isQuorumInputError(bad)).toBe(true);
    expect(bad.message).toMatch(/schema/);
  });

  it('publishes under another name and version when asked (the manifest is rewritten)', async () => {
    const e = makeEnsemble({ name: 'cells', version: '7' });
    const edge = new FakeEdge();
    const result = await publishEnsemble(await ensembleDir(e), {
      edge: EDGE,
      token: TOKEN,
      name: 'nuclei',
      version: '7.1+build.2',
      fetch: edge.fetch,
    });
    expect(result).toMatchObject({ name: 'nuclei', version: '7.1+build.2' });
    expect(edge.log).toContain('PUT /v1/ensembles/nuclei/7.1%2Bbuild.2');
    const sent = JSON.parse(new TextDecoder().decode(edge.manifests.get('nuclei@7.1+build.2')));
    expect(sent).toMatchObject({ name: 'nuclei', version: '7.1+build.2', members: e.manifest.members });
    const bad = await publishEnsemble(await ensembleDir(e), {
      edge: EDGE,
      token: TOKEN,
      name: '../etc',
      fetch: edge.fetch,
    }).catch((x) => x);
    expect(isQuorumInputError(bad)).toBe(true);
  });

  it('refuses plain http to anything but loopback (the token would travel in clear)', async () => {
    const e = makeEnsemble({ name: 'cells', version: '8' });
    const dir = await ensembleDir(e);
    const edge = new FakeEdge();
    const err = await publishEnsemble(dir, {
      edge: 'http://edge.example',
      token: TOKEN,
      fetch: edge.fetch,
    }).catch((x) => x);
    expect(err.message).toMatch(/https/);
    const local = await publishEnsemble(dir, {
      edge: 'http://127.0.0.1:8787',
      token: TOKEN,
      fetch: edge.fetch,
    });
    expect(local.blobs.uploaded).toBe(4);
  });

  it('requires a token', async () => {
    const e = makeEnsemble({ name: 'cells', version: '9' });
    const err = await publishEnsemble(await ensembleDir(e), { edge: EDGE, token: '' }).catch((x) => x);
    expect(isQuorumInputError(err)).toBe(true);
    expect(() => tokenFromEnv({})).toThrow(/QUORUM_PUBLISH_TOKEN/);
    expect(tokenFromEnv({ QUORUM_PUBLISH_TOKEN: ' abc \n' })).toBe('abc');
  });
});

describe('listEnsembles and rollback', () => {
  it('lists ensembles and moves latest back', async () => {
    const edge = new FakeEdge();
    for (const v of ['1', '2']) {
      const e = makeEnsemble({ name: 'cells', version: v });
      await publishEnsemble(await ensembleDir(e), {
        edge: EDGE,
        token: TOKEN,
        promote: true,
        fetch: edge.fetch,
      });
    }
    expect(await listEnsembles(EDGE, { fetch: edge.fetch })).toEqual([{ name: 'cells', latest: '2' }]);
    expect(await rollback(EDGE, 'cells', '1', TOKEN, { fetch: edge.fetch })).toEqual({
      name: 'cells',
      latest: '1',
      previous: '2',
    });
    const err = await rollback(EDGE, 'cells', '9', TOKEN, { fetch: edge.fetch }).catch((x) => x);
    expect(err).toBeInstanceOf(PublishError);
    expect(err.status).toBe(404);
  });
});

describe('createProgressReporter', () => {
  const events: PublishProgress[] = [
    { phase: 'verify', done: 0, total: 2 },
    { phase: 'verify', done: 2, total: 2, detail: 'b' },
    { phase: 'upload', done: 0, total: 3 * 1024 * 1024, unit: 'bytes' },
    { phase: 'upload', done: 1024 * 1024, total: 3 * 1024 * 1024, unit: 'bytes', detail: 'members/m0/a.bin' },
    {
      phase: 'upload',
      done: 3 * 1024 * 1024,
      total: 3 * 1024 * 1024,
      unit: 'bytes',
      detail: 'members/m0/b.bin',
    },
    { phase: 'manifest', done: 1, total: 1, detail: 'cells@1' },
    { phase: 'done', done: 1, total: 1, detail: 'cells@1' },
  ];
  const run = (tty: boolean) => {
    let out = '';
    const report = createProgressReporter(
      { write: (t: string) => (out += t), isTTY: tty, columns: 120 },
      { throttleMs: 0 },
    );
    for (const e of events) report(e);
    return out;
  };

  it('prints plain lines without control characters when not a TTY', () => {
    const out = run(false);
    expect(out.includes('\r') || out.includes('\x1b')).toBe(false);
    expect(out).toContain('uploaded members/m0/a.bin (1.0 MiB of 3.0 MiB)');
    expect(out.trim().split('\n').at(-1)).toBe('published cells@1');
  });

  it('draws a bar in place on a TTY', () => {
    const out = run(true);
    expect(out).toContain('\r\x1b[2K');
    expect(out).toMatch(/uploading\s+\[#{10}-{20}\]\s+33% 1\.0 MiB\/3\.0 MiB/);
    expect(out).toMatch(/\[#{30}\] 100%/);
    expect(out.endsWith('published cells@1\n')).toBe(true);
  });
});
