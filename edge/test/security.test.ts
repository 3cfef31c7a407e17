import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeEnsemble } from './fixtures';
import { body, type Edge, startEdge, TEST_TOKEN } from './harness';

let edge: Edge;
beforeAll(async () => {
  edge = await startEdge(inject('edgeBundle'));
});
afterAll(() => edge?.dispose());

/**
 * fetch() normalises paths before sending (`%2e%2e` becomes `..` and is resolved), so hostile paths are sent raw,
 * byte for byte, with node:http.
 */
function raw(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: edge.url.hostname,
        port: edge.url.port,
        method,
        path,
        // One connection per request: a refused request's unread body must not poison a reused socket.
        agent: false,
        headers: {
          Authorization: `Bearer ${TEST_TOKEN}`,
          ...(body ? { 'Content-Length': body.length } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', (e) => reject(new Error(`${method} ${path.slice(0, 80)}: ${e.message}`)));
    req.end(body);
  });
}

async function snapshot() {
  const objects = (await edge.bucket.list()).objects.map((o) => o.key).sort();
  const keys = (await edge.kv.list()).keys.map((k) => k.name).sort();
  return { objects, keys };
}

const mutations = [
  ['PUT', 'ensembles/{x}/1'],
  ['PUT', 'ensembles/ok/{x}'],
  ['POST', 'ensembles/{x}/latest'],
  ['DELETE', 'ensembles/{x}/1'],
  ['DELETE', 'ensembles/ok/{x}'],
  ['PUT', 'blobs/{x}'],
] as const;
const reads = ['ensembles/{x}', 'ensembles/{x}/latest', 'ensembles/{x}/1', 'ensembles/ok/{x}', 'blobs/{x}'];

describe('hostile names', () => {
  const hostile = [
    '..',
    '.',
    '%2e%2e',
    '%2E%2E',
    '.%2e',
    '..%2F..%2Fmanifests',
    'a%2Fb',
    'a%5Cb',
    '%00',
    '%zz',
    '%252e%252e',
    'A',
    '-a',
    `${'a'.repeat(65)}`,
    'n'.repeat(10_000),
    '%20',
    'a%20b',
    '%0d%0aX-Injected:%201',
  ];

  it('are refused on every route and change nothing in R2 or KV', async () => {
    // A real ensemble exists, so a path trick that reached it would be visible.
    const e = makeEnsemble({ name: 'ok', version: '1' });
    for (const [id, bytes] of e.blobs) await edge.authed(`/v1/blobs/${id}`, { method: 'PUT', body: bytes });
    expect((await edge.authed('/v1/ensembles/ok/1', { method: 'PUT', body: e.manifestBytes })).status).toBe(
      201,
    );
    const before = await snapshot();
    for (const x of hostile) {
      for (const [method, template] of mutations) {
        const path = `/v1/${template.replace('{x}', x)}`;
        const res = await raw(method, path, method === 'DELETE' ? undefined : '{"version":"1"}');
        // 404: a dot segment was resolved away by the URL parser and the path names no route; 400 otherwise.
        expect([400, 404, 405], `${method} ${path.slice(0, 60)}`).toContain(res.status);
        expect(JSON.parse(res.body).error).toEqual(expect.any(String));
        // A 10 kB name is not echoed back.
        expect(res.body.length).toBeLessThan(1000);
      }
      for (const template of reads) {
        const path = `/v1/${template.replace('{x}', x)}`;
        const res = await raw('GET', path);
        expect([400, 404], `GET ${path.slice(0, 60)}`).toContain(res.status);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('rejects a request line too long for the runtime without crashing', async () => {
    const res = await raw('GET', `/v1/ensembles/${'x'.repeat(100_000)}`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});

describe('authentication', () => {
  const e = makeEnsemble({ name: 'authz', version: '1' });
  const [id, bytes] = [...e.blobs][0]!;
  const attempts: [string, string, string | Uint8Array | undefined][] = [
    ['PUT', `/v1/blobs/${id}`, bytes],
    ['PUT', '/v1/ensembles/authz/1', e.manifestBytes],
    ['POST', '/v1/ensembles/authz/latest', '{"version":"1"}'],
    ['DELETE', '/v1/ensembles/authz/1', undefined],
  ];

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${TEST_TOKEN}x`],
    ['a token prefix', `Bearer ${TEST_TOKEN.slice(0, -1)}`],
    ['an empty bearer', 'Bearer '],
    ['another scheme', `Basic ${TEST_TOKEN}`],
    ['the token without a scheme', TEST_TOKEN],
  ])('refuses every publishing route with %s (401)', async (_, authorization) => {
    const before = await snapshot();
    for (const [method, path, payload] of attempts) {
      const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
      const res = await edge.fetch(path, { method, body: payload ?? null, headers });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm=/);
      expect((await body(res)).error).toMatch(/token/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('accepts the right token (scheme is case-insensitive)', async () => {
    const res = await edge.fetch(`/v1/blobs/${id}`, {
      method: 'PUT',
      body: bytes,
      headers: { Authorization: `bearer ${TEST_TOKEN}` },
    });
    expect(res.status).toBe(201);
  });
});

describe('body size limits', () => {
  it('refuses a manifest over 1 MiB (declared length) with 413', async () => {
    const res = await edge.authed('/v1/ensembles/big/1', {
      method: 'PUT',
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect((await body(res)).error).toMatch(/larger than the limit/);
  });

  it('refuses a streamed (chunked) manifest once it passes 1 MiB', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(32);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 2 * 1024 * 1024) return c.close();
        sent += chunk.byteLength;
        c.enqueue(chunk);
      },
    });
    const res = await edge.authed('/v1/ensembles/big/1', {
      method: 'PUT',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('refuses a promote body over 1 KiB', async () => {
    const res = await edge.authed('/v1/ensembles/big/latest', {
      method: 'POST',
      body: JSON.stringify({ version: '1', pad: 'x'.repeat(2000) }),
    });
    expect(res.status).toBe(413);
  });
});
