import { matchFails, noneMatch } from './conditional';
import { HttpError } from './http';

/**
 * Serving immutable R2 objects through the Workers cache API. Every object here is addressed by content (a blob's
 * sha256, a version's manifest whose sha256 the registry records), so its ETag is known before touching storage
 * and a cached copy can never be stale.
 *
 * Path of a GET: cache.match (the cache answers Range and If-None-Match itself, as in production) -> on a miss,
 * R2 (with the range pushed down to R2 so a 1-byte read does not fetch a 100 MB shard) -> the full object is put
 * into the cache in the background for the next request.
 */
export interface ServeOptions {
  request: Request;
  ctx: ExecutionContext;
  bucket: R2Bucket;
  key: string;
  /** The canonical URL of the object, used as the cache key (query strings and headers never fragment it). */
  cacheUrl: string;
  /** Lowercase hex sha256 of the object: the strong ETag. */
  sha256: string;
  cacheControl: string;
  defaultContentType: string;
  /** Extra headers, e.g. Content-Location for `latest`. */
  headers?: Record<string, string>;
}

const PASSED_TO_CACHE = ['Range', 'If-None-Match'];

export async function serveObject(o: ServeOptions): Promise<Response> {
  const etag = `"${o.sha256}"`;
  const head = o.request.method === 'HEAD';
  if (matchFails(o.request.headers.get('If-Match'), etag)) {
    throw new HttpError(412, 'If-Match does not match the current entity tag', {}, { ETag: etag });
  }
  const cache = caches.default;
  const cacheHeaders = new Headers();
  // A HEAD answers with the full length, never a range.
  for (const h of head ? ['If-None-Match'] : PASSED_TO_CACHE) {
    const v = o.request.headers.get(h);
    if (v !== null) cacheHeaders.set(h, v);
  }
  const hit = await cache.match(new Request(o.cacheUrl, { headers: cacheHeaders }));
  if (hit) return finish(hit, o, head, 'HIT');

  if (noneMatch(o.request.headers.get('If-None-Match'), etag)) {
    const obj = await o.bucket.head(o.key);
    if (!obj) throw notFound(o);
    o.ctx.waitUntil(fill(o));
    return finish(new Response(null, { status: 304, headers: objectHeaders(obj, o) }), o, head, 'MISS');
  }
  if (head) {
    const obj = await o.bucket.head(o.key);
    if (!obj) throw notFound(o);
    const headers = objectHeaders(obj, o);
    headers.set('Content-Length', String(obj.size));
    return finish(new Response(null, { headers }), o, head, 'MISS');
  }

  const range = parseRange(o.request.headers.get('Range'));
  let obj: R2ObjectBody | R2Object | null;
  try {
    obj = await o.bucket.get(o.key, range ? { range } : {});
  } catch (e) {
    if (range && isInvalidRange(e)) return unsatisfiable(o);
    throw e;
  }
  if (!obj) throw notFound(o);
  if (!('body' in obj)) throw new Error('R2 returned no body for an unconditional get');
  const headers = objectHeaders(obj, o);
  if (range && obj.range) {
    const { offset, length } = resolveRange(obj.range, obj.size);
    headers.set('Content-Range', `bytes ${offset}-${offset + length - 1}/${obj.size}`);
    headers.set('Content-Length', String(length));
    o.ctx.waitUntil(fill(o));
    return finish(new Response(obj.body, { status: 206, headers }), o, head, 'MISS');
  }
  headers.set('Content-Length', String(obj.size));
  const response = new Response(obj.body, { headers });
  o.ctx.waitUntil(cache.put(new Request(o.cacheUrl), response.clone()));
  return finish(response, o, head, 'MISS');
}

/** Put the whole object into the cache (after a ranged or conditional miss), so later requests stay off R2. */
async function fill(o: ServeOptions): Promise<void> {
  const obj = await o.bucket.get(o.key);
  if (!obj) return;
  const headers = objectHeaders(obj, o);
  headers.set('Content-Length', String(obj.size));
  await caches.default.put(new Request(o.cacheUrl), new Response(obj.body, { headers }));
}

function objectHeaders(obj: R2Object, o: ServeOptions): Headers {
  return new Headers({
    // Always a Content-Type: without one the local runtime gzips the body and Range lengths stop matching.
    'Content-Type': obj.httpMetadata?.contentType || o.defaultContentType,
    ETag: `"${o.sha256}"`,
    'Cache-Control': o.cacheControl,
    'Accept-Ranges': 'bytes',
  });
}

/**
 * The cached copy carries the headers of whoever filled it (e.g. the immutable Cache-Control of a versioned
 * manifest, which `latest` shares); per-route headers are reapplied on the way out.
 */
function finish(response: Response, o: ServeOptions, head: boolean, status: 'HIT' | 'MISS'): Response {
  const out = new Response(head ? null : response.body, response);
  if (head && response.body) response.body.cancel().catch(() => {});
  out.headers.set('Cache-Control', o.cacheControl);
  out.headers.set('ETag', `"${o.sha256}"`);
  out.headers.set('X-Quorum-Cache', status);
  out.headers.delete('CF-Cache-Status');
  for (const [k, v] of Object.entries(o.headers ?? {})) out.headers.set(k, v);
  return out;
}

function notFound(o: ServeOptions): HttpError {
  return new HttpError(404, `no object ${o.sha256}`);
}

async function unsatisfiable(o: ServeOptions): Promise<Response> {
  const obj = await o.bucket.head(o.key);
  if (!obj) throw notFound(o);
  throw new HttpError(416, 'range not satisfiable', {}, { 'Content-Range': `bytes */${obj.size}` });
}

/**
 * Parse a single byte range: `bytes=a-b`, `bytes=a-` (open) and `bytes=-n` (suffix). Anything else (a unit other
 * than bytes, several ranges, garbage) is ignored and the whole object is served, as RFC 9110 allows.
 */
export function parseRange(header: string | null): R2Range | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const suffix = Number(b);
    return suffix > 0 ? { suffix } : undefined;
  }
  const offset = Number(a);
  if (b === '') return { offset };
  const end = Number(b);
  if (end < offset) return undefined;
  return { offset, length: end - offset + 1 };
}

function resolveRange(r: R2Range, size: number): { offset: number; length: number } {
  if ('suffix' in r && r.suffix !== undefined) {
    const length = Math.min(r.suffix, size);
    return { offset: size - length, length };
  }
  const offset = 'offset' in r && r.offset !== undefined ? r.offset : 0;
  const length = 'length' in r && r.length !== undefined ? r.length : size - offset;
  return { offset, length: Math.min(length, size - offset) };
}

function isInvalidRange(e: unknown): boolean {
  return e instanceof Error && /range/i.test(e.message);
}
