import { requirePublisher } from './auth';
import { discardBody, tooLarge } from './body';
import type { Env } from './env';
import { IMMUTABLE } from './headers';
import { HttpError, json } from './http';
import { blobKey } from './keys';
import { maxBlobBytes } from './limits';
import { checkSha256 } from './names';
import { serveObject } from './objects';

export interface RouteContext {
  env: Env;
  ctx: ExecutionContext;
}

/** GET /v1/blobs/:sha256: content-addressed, so cached as immutable for a year by everyone. */
export function getBlob(request: Request, params: { sha256: string }, { env, ctx }: RouteContext) {
  const sha256 = checkSha256(params.sha256);
  return serveObject({
    request,
    ctx,
    bucket: env.BLOBS,
    key: blobKey(sha256),
    cacheUrl: new URL(`/v1/blobs/${sha256}`, request.url).href,
    sha256,
    cacheControl: IMMUTABLE,
    defaultContentType: 'application/octet-stream',
  });
}

/**
 * PUT /v1/blobs/:sha256. The body streams straight into R2 with the claimed sha256 as R2's own integrity check:
 * R2 hashes what it receives and refuses the write on a mismatch, so a 100 MB shard is verified without being
 * buffered in the isolate, and a refused write leaves nothing behind. Idempotent: a blob already present is not
 * rewritten (its body is not even read).
 */
export async function putBlob(request: Request, params: { sha256: string }, { env }: RouteContext) {
  const sha256 = checkSha256(params.sha256);
  await requirePublisher(request, env);
  const max = maxBlobBytes(env);
  const declared = request.headers.get('Content-Length');
  if (declared === null || !/^\d+$/.test(declared)) {
    // R2 needs the length up front to stream; it also lets an oversized upload be refused before it is sent.
    throw new HttpError(411, 'Content-Length is required');
  }
  const bytes = Number(declared);
  if (bytes > max) throw tooLarge('blob', max);

  const existing = await env.BLOBS.head(blobKey(sha256));
  if (existing) {
    await discardBody(request);
    return json({ sha256, bytes: existing.size, created: false });
  }
  try {
    await env.BLOBS.put(blobKey(sha256), request.body ?? new Uint8Array(0), {
      sha256,
      httpMetadata: { contentType: contentTypeOf(request) },
    });
  } catch (e) {
    if (e instanceof Error && /checksum|digest/i.test(e.message)) {
      throw new HttpError(422, `body does not hash to ${sha256}`);
    }
    throw e;
  }
  return json({ sha256, bytes, created: true }, 201);
}

/**
 * The uploader's Content-Type is kept (model.json files are JSON, shards are octet-stream) when it is a plain
 * `type/subtype`; parameters and anything unusual fall back to octet-stream, so nothing odd is replayed to browsers.
 */
function contentTypeOf(request: Request): string {
  const raw = request.headers.get('Content-Type')?.split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9.+-]{0,63}\/[a-z0-9][a-z0-9.+-]{0,63}$/.test(raw)
    ? raw
    : 'application/octet-stream';
}
