import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { body, type Edge, startEdge } from './harness';

let edge: Edge;
let dir: string;
const html = '<!doctype html><title>Quorum</title><p>app</p>';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'quorum-assets-'));
  await writeFile(join(dir, 'index.html'), html);
  await writeFile(join(dir, 'widget.js'), 'export const widget = 1;\n');
  // A read-only deployment: no PUBLISH_TOKEN secret.
  edge = await startEdge(inject('edgeBundle'), { assetsDir: dir, token: null });
});
afterAll(async () => {
  await edge?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('static assets', () => {
  it('serves app pages cross-origin isolated (COOP same-origin, COEP require-corp)', async () => {
    const res = await edge.fetch('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(res.headers.get('Cross-Origin-Opener-Policy')).toBe('same-origin');
    expect(res.headers.get('Cross-Origin-Embedder-Policy')).toBe('require-corp');
    expect(await res.text()).toBe(html);
  });

  it('serves the widget script so that other (isolated) origins can load it', async () => {
    const res = await edge.fetch('/widget.js', { headers: { Origin: 'https://portal.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/javascript/);
    expect(res.headers.get('Cross-Origin-Resource-Policy')).toBe('cross-origin');
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(await res.text()).toContain('widget');
  });

  it('keeps the asset server’s own behaviour: ETag revalidation and 404', async () => {
    const first = await edge.fetch('/widget.js');
    await first.arrayBuffer();
    const etag = first.headers.get('ETag');
    expect(etag).toBeTruthy();
    const again = await edge.fetch('/widget.js', { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('Cross-Origin-Embedder-Policy')).toBe('require-corp');
    const missing = await edge.fetch('/nope.js');
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
  });
});

describe('CORS', () => {
  it('answers a preflight for Range and If-None-Match from any origin', async () => {
    const res = await edge.fetch(`/v1/blobs/${'a'.repeat(64)}`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://portal.example',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'range, if-none-match',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Access-Control-Allow-Methods')).toContain('GET');
    const allowed = res.headers.get('Access-Control-Allow-Headers')!.toLowerCase();
    expect(allowed).toContain('range');
    expect(allowed).toContain('if-none-match');
    expect(allowed).not.toContain('authorization');
    expect(res.headers.get('Cross-Origin-Resource-Policy')).toBe('cross-origin');
  });

  it('exposes the headers a client needs, on errors too', async () => {
    const res = await edge.fetch('/v1/ensembles/ghost', { headers: { Origin: 'https://x.example' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Access-Control-Expose-Headers')).toContain('Content-Range');
    expect(res.headers.get('Access-Control-Expose-Headers')).toContain('ETag');
    await res.arrayBuffer();
  });
});

describe('a deployment without the PUBLISH_TOKEN secret', () => {
  it('refuses every publish (503, fail closed) and still serves reads', async () => {
    const id = 'a'.repeat(64);
    for (const [method, path] of [
      ['PUT', `/v1/blobs/${id}`],
      ['PUT', '/v1/ensembles/x/1'],
      ['POST', '/v1/ensembles/x/latest'],
      ['DELETE', '/v1/ensembles/x/1'],
    ] as const) {
      const res = await edge.fetch(path, {
        method,
        body: method === 'DELETE' ? null : '{}',
        headers: { Authorization: 'Bearer undefined' },
      });
      expect(res.status, `${method} ${path}`).toBe(503);
      expect((await body(res)).error).toMatch(/PUBLISH_TOKEN/);
    }
    const list = await edge.fetch('/v1/ensembles');
    expect(list.status).toBe(200);
    expect(await body(list)).toEqual({ ensembles: [] });
  });
});
