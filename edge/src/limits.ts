import type { Env } from './env';

/** A manifest is a few kB per member; 1 MiB leaves room for 64 members with long validation id lists. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** `POST .../latest` carries `{ "version": ... }` only. */
export const MAX_PROMOTE_BYTES = 1024;
/**
 * Weight shards are 4 MB by TF.js convention; 100 MB is also the request body limit of Cloudflare's free and pro
 * plans, so a larger default would only move the refusal to the edge proxy with a less useful message.
 */
export const DEFAULT_MAX_BLOB_BYTES = 100 * 1000 * 1000;
/**
 * Publishing a manifest costs one R2 HEAD per file, and each binding call is a subrequest; staying well under the
 * per-request subrequest limit (1,000) keeps the check inside one request.
 */
export const MAX_MANIFEST_FILES = 900;
/** Parallel R2 HEADs while checking a manifest's blobs. */
export const BLOB_CHECK_CONCURRENCY = 16;

export function maxBlobBytes(env: Env): number {
  const n = Number(env.MAX_BLOB_BYTES);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_BLOB_BYTES;
}
