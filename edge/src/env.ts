/** Bindings of the worker, as declared in the root wrangler.toml. */
export interface Env {
  /** Immutable, content-addressed objects: `blobs/<sha256>` and `manifests/<name>/<version>.json`. */
  BLOBS: R2Bucket;
  /** The registry: which versions exist and which one is `latest` (see registry.ts for the key layout). */
  REGISTRY: KVNamespace;
  /** Workers static assets: the hosted app and the widget script. */
  ASSETS: Fetcher;
  /** Bearer token that publishing requests must present (a Worker secret). Unset: publishing is disabled. */
  PUBLISH_TOKEN?: string;
  /** Optional override of the blob size limit in bytes (a plain var; tests lower it). */
  MAX_BLOB_BYTES?: string;
}
