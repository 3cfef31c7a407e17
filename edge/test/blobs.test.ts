import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256 } from './fixtures';
import { body, type Edge, startEdge } from './harness';

const IMMUTABLE = 'public, max-age=31536000, immutable';
let edge: Edge;

beforeAll(async () => {
  edge = await startEdge(inject('edgeBundle'), { maxBlobBytes: 256 * 1024 });
});
afterAll(() => edge?.dispose());

const blob = (n: number) => new Uint8Array(randomBytes(n));

async function upload(bytes: Uint8Array, type = 'application/octet-stream') {
  const res = await edge.authed(`/v1/blobs/${sha256(bytes)}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'Content-Type': type },
  });
  return res;
}

/** The cache is filled by waitUntil after the response: poll until a plain GET is a hit. */
async function untilCached(path: string) {
  for (let i = 0; i < 50; i++) {
    const res = await edge.fetch(path);
    await res.arrayBuffer();
    if (res.headers.get('X-Quorum-Cache') === 'HIT') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} never reached the cache`);
}

describe('PUT /v1/blobs/:sha256', () => {
  it('stores a blob whose body hashes to its name, and is idempotent', async () => {
    const bytes = blob(5000);
    const first = await upload(bytes);
    expect(first.status).toBe(201);
    expect(await body(first)).toEqual({ sha256: sha256(bytes), bytes: 5000, created: true });
    const again = await upload(bytes);
    expect(again.status).toBe(200);
    expect(await body(again)).toMatchObject({ created: false, bytes: 5000 });
    const stored = await edge.bucket.get(`blobs/${sha256(bytes)}`);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(bytes);
  });

  it('refuses a body that does not hash to the name, and stores nothing', async () => {
    const claimed = sha256(blob(10));
    const res = await edge.authed(`/v1/blobs/${claimed}`, { method: 'PUT', body: blob(100) });
    expect(res.status).toBe(422);
    expect((await body(res)).error).toMatch(/does not hash/);
    expect(await edge.bucket.head(`blobs/${claimed}`)).toBeNull();
  });

  it('requires a token', async () => {
    const bytes = blob(10);
    const res = await edge.fetch(`/v1/blobs/${sha256(bytes)}`, { method: 'PUT', body: bytes });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
    expect(await edge.bucket.head(`blobs/${sha256(bytes)}`)).toBeNull();
  });

  it('refuses a body over the size limit before storing it', async () => {
    const bytes = blob(256 * 1024 + 1);
    const res = await upload(bytes);
    expect(res.status).toBe(413);
    expect((await body(res)).error).toMatch(/limit of 262144 bytes/);
  });

  it('requires a Content-Length (a streamed body of unknown length is refused)', async () => {
    const bytes = blob(1000);
    const body = new ReadableStream({
      start(c) {
        c.enqueue(bytes);
        c.close();
      },
    });
    const res = await edge.authed(`/v1/blobs/${sha256(bytes)}`, {
      method: 'PUT',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(411);
  });

  it('refuses ids that are not lowercase hex sha256', async () => {
    for (const id of ['abc', 'A'.repeat(64), `${'a'.repeat(63)}g`, 'a'.repeat(65)]) {
      const res = await edge.authed(`/v1/blobs/${id}`, { method: 'PUT', body: 'x' });
      expect(res.status, id).toBe(400);
      const get = await edge.fetch(`/v1/blobs/${id}`);
      expect(get.status, id).toBe(400);
    }
  });
});

describe('GET and HEAD /v1/blobs/:sha256', () => {
  const bytes = blob(100_000);
  const id = sha256(bytes);
  const path = `/v1/blobs/${id}`;
  beforeAll(async () => {
    expect((await upload(bytes)).status).toBe(201);
  });

  it('serves the bytes with immutable caching, a strong ETag, length, type and CORS/CORP', async () => {
    const res = await edge.fetch(path, { headers: { Origin: 'https://portal.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe(IMMUTABLE);
    expect(res.headers.get('ETag')).toBe(`"${id}"`);
    expect(res.headers.get('Content-Type')).toBe('application/octet-stream');
    expect(res.headers.get('Content-Length')).toBe('100000');
    expect(res.headers.get('Accept-Ranges')).toBe('bytes');
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Cross-Origin-Resource-Policy')).toBe('cross-origin');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it('goes through the Workers cache after the first request', async () => {
    await untilCached(path);
    const res = await edge.fetch(path);
    expect(res.headers.get('X-Quorum-Cache')).toBe('HIT');
    expect(res.headers.get('Cache-Control')).toBe(IMMUTABLE);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it('answers HEAD with the headers and length but no body', async () => {
    const res = await edge.fetch(path, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Length')).toBe('100000');
    expect(res.headers.get('ETag')).toBe(`"${id}"`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const missing = await edge.fetch(`/v1/blobs/${sha256('nope')}`, { method: 'HEAD' });
    expect(missing.status).toBe(404);
  });

  it('If-Match: 412 unless it names the blob (strong comparison)', async () => {
    for (const [value, status] of [
      ['"other"', 412],
      [`W/"${id}"`, 412],
      [`"other", "${id}"`, 200],
      ['*', 200],
    ] as const) {
      const res = await edge.fetch(path, { headers: { 'If-Match': value } });
      expect(res.status, value).toBe(status);
      await res.arrayBuffer();
    }
    const head = await edge.fetch(path, { method: 'HEAD', headers: { 'If-Match': '"other"' } });
    expect(head.status).toBe(412);
  });

  it('404s an unknown blob with a JSON error that is not cached', async () => {
    const res = await edge.fetch(`/v1/blobs/${sha256('missing')}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await body(res)).toEqual({ error: expect.stringMatching(/no object/) });
  });
});

/** Every conditional/range case runs on a cache miss (R2 path) and on a cache hit (cache path). */
describe.each(['miss', 'hit'] as const)('conditional and range requests (cache %s)', (mode) => {
  const bytes = blob(10_000);
  const id = sha256(bytes);
  const path = `/v1/blobs/${id}`;
  beforeAll(async () => {
    expect((await upload(bytes)).status).toBe(201);
    if (mode === 'hit') await untilCached(path);
  });
  // On the miss path each request must find the cache empty: use a fresh blob per test.
  const fresh = async () => {
    if (mode === 'hit') return { bytes, path };
    const b = blob(10_000);
    expect((await upload(b)).status).toBe(201);
    return { bytes: b, path: `/v1/blobs/${sha256(b)}` };
  };
  const cacheState = (res: Response) => expect(res.headers.get('X-Quorum-Cache')).toBe(mode.toUpperCase());

  it('If-None-Match with the ETag -> 304 without a body', async () => {
    const f = await fresh();
    const res = await edge.fetch(f.path, { headers: { 'If-None-Match': `"${sha256(f.bytes)}"` } });
    expect(res.status).toBe(304);
    cacheState(res);
    expect(res.headers.get('ETag')).toBe(`"${sha256(f.bytes)}"`);
    expect(res.headers.get('Cache-Control')).toBe(IMMUTABLE);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('If-None-Match with another ETag -> 200', async () => {
    const f = await fresh();
    const res = await edge.fetch(f.path, { headers: { 'If-None-Match': '"other"' } });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(f.bytes);
  });

  it.each([
    ['bytes=0-9', 0, 10],
    ['bytes=9990-', 9990, 10],
    ['bytes=-25', 9975, 25],
    ['bytes=100-199', 100, 100],
    ['bytes=9000-20000', 9000, 1000],
  ])('Range %s -> 206 with Content-Range and Content-Length', async (range, start, length) => {
    const f = await fresh();
    // Accept-Encoding as a browser sends it: the runtime must not compress a ranged binary body.
    const res = await edge.fetch(f.path, { headers: { Range: range, 'Accept-Encoding': 'gzip, br' } });
    expect(res.status).toBe(206);
    cacheState(res);
    expect(res.headers.get('Content-Range')).toBe(`bytes ${start}-${start + length - 1}/10000`);
    expect(res.headers.get('Content-Length')).toBe(String(length));
    expect(res.headers.get('Content-Type')).toBe('application/octet-stream');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(f.bytes.subarray(start, start + length));
  });

  it('an unsatisfiable Range -> 416 with the size', async () => {
    const f = await fresh();
    const res = await edge.fetch(f.path, { headers: { Range: 'bytes=10000-' } });
    expect(res.status).toBe(416);
    expect(res.headers.get('Content-Range')).toBe('bytes */10000');
    await res.arrayBuffer();
  });
});

describe('content types', () => {
  it('keeps a plain uploaded Content-Type (model.json is JSON) and never compresses ranges', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ weights: 'x'.repeat(5000) }));
    expect((await upload(bytes, 'application/json; charset=utf-8')).status).toBe(201);
    const path = `/v1/blobs/${sha256(bytes)}`;
    const full = await edge.fetch(path, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(full.headers.get('Content-Type')).toBe('application/json');
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(bytes);
    const part = await edge.fetch(path, { headers: { Range: 'bytes=0-99', 'Accept-Encoding': 'gzip' } });
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.subarray(0, 100));
  });

  it('replaces an odd Content-Type with application/octet-stream', async () => {
    const bytes = blob(50);
    expect((await upload(bytes, 'text/html, application/x-evil')).status).toBe(201);
    const res = await edge.fetch(`/v1/blobs/${sha256(bytes)}`);
    expect(res.headers.get('Content-Type')).toBe('application/octet-stream');
    await res.arrayBuffer();
  });
});
