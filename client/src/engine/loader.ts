import { type EnsembleManifest, type FileRef, manifestFiles, parseManifest } from '@quorum/shared/manifest';
import { sha256Hex } from './digest';
import type { EngineStore } from './store';
import type { EnsembleSource, LoadProgress } from './types';

/**
 * Fetch an ensemble from the edge: the manifest (`latest` or a pinned version), then every blob it lists, each
 * verified against its sha256 before use and cached by hash, so a second visit loads offline and a new version
 * downloads only the blobs it does not share with the old one.
 *
 * Only GETs of `/v1/ensembles/...` and `/v1/blobs/...` leave this module: nothing about the user's images.
 */

/** A blob whose bytes are not the ones its manifest names: tampered, truncated or corrupted. Never used. */
export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}; refusing to use it`);
  }
}

/** The edge could not be reached (or answered with an error) and nothing cached could stand in. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

export interface LoadedFiles {
  manifest: EnsembleManifest;
  /** Verified bytes by manifest path. */
  files: Map<string, Uint8Array>;
  offline: boolean;
  cached: { files: number; bytes: number };
  downloaded: { files: number; bytes: number };
}

export interface LoaderOptions {
  store: EngineStore;
  fetch?: typeof fetch;
  onProgress?: (p: LoadProgress) => void;
  /** Blob downloads in flight at once. */
  concurrency?: number;
}

export function manifestUrl(source: EnsembleSource): string {
  const base = source.edge.replace(/\/+$/, '');
  const which = source.version ? encodeURIComponent(source.version) : 'latest';
  return `${base}/v1/ensembles/${encodeURIComponent(source.ensemble)}/${which}`;
}

export function blobUrl(edge: string, sha256: string): string {
  return `${edge.replace(/\/+$/, '')}/v1/blobs/${sha256}`;
}

/** Throws IntegrityError unless `bytes` are exactly the file `ref` describes. */
export async function verifyBlob(ref: FileRef, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength !== ref.bytes) {
    const how = bytes.byteLength < ref.bytes ? 'truncated' : 'too long';
    throw new IntegrityError(
      ref.path,
      `got ${bytes.byteLength} bytes but the manifest says ${ref.bytes} (${how} or replaced)`,
    );
  }
  const actual = await sha256Hex(bytes);
  if (actual !== ref.sha256) {
    throw new IntegrityError(
      ref.path,
      `its sha256 is ${actual.slice(0, 12)}… but the manifest says ${ref.sha256.slice(0, 12)}… (tampered or corrupted)`,
    );
  }
}

async function fetchManifest(
  source: EnsembleSource,
  options: LoaderOptions,
): Promise<{ manifest: EnsembleManifest; offline: boolean }> {
  const doFetch = options.fetch ?? fetch;
  const url = manifestUrl(source);
  let text: string | undefined;
  let failure: string;
  try {
    // `no-cache`: revalidate `latest` with the edge every time (a 304 costs no body) so a promotion is seen.
    const res = await doFetch(url, { cache: 'no-cache', credentials: 'omit' });
    if (res.ok) text = await res.text();
    else {
      const body = await res.text().catch(() => '');
      let reason = body.slice(0, 200);
      try {
        reason = (JSON.parse(body) as { error?: string }).error ?? reason;
      } catch {
        // not JSON
      }
      if (res.status === 404) {
        const what = source.version ? `version ${source.version} of ensemble` : 'ensemble';
        throw new NetworkError(`${what} "${source.ensemble}" was not found on ${source.edge} (${reason})`);
      }
      failure = `HTTP ${res.status} ${reason}`;
    }
  } catch (e) {
    if (e instanceof NetworkError) throw e;
    failure = (e as Error).message;
  }
  if (text !== undefined) {
    const manifest = parseManifest(text, url);
    await options.store.putManifest(url, text);
    return { manifest, offline: false };
  }
  const cached = await options.store.getManifest(url);
  if (cached === undefined) {
    throw new NetworkError(
      `could not fetch the ensemble manifest from ${url} (${failure!}) and none is cached`,
    );
  }
  return { manifest: parseManifest(cached, url), offline: true };
}

/**
 * Pauses before the second and third try of a blob whose download failed in a way that may pass (no connection,
 * HTTP 5xx or 429, a body cut off): a dropped connection on a train or a busy edge should not lose the model.
 */
export const BLOB_RETRY_PAUSES_MS: readonly number[] = [250, 1000];

/** A download failure worth another try. */
class TransientDownloadError extends NetworkError {}

/** GET one blob, reporting bytes as they arrive. */
async function download(
  url: string,
  ref: FileRef,
  doFetch: typeof fetch,
  onBytes: (n: number) => void,
  cache: RequestCache,
): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await doFetch(url, { credentials: 'omit', cache });
  } catch (e) {
    throw new TransientDownloadError(`could not download ${ref.path} (${(e as Error).message})`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    const message = `could not download ${ref.path}: HTTP ${res.status}`;
    throw res.status >= 500 || res.status === 429
      ? new TransientDownloadError(message)
      : new NetworkError(message);
  }
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    onBytes(bytes.byteLength);
    return bytes;
  }
  // Read into a buffer of the announced size; a longer body is not read past one byte over (it fails anyway).
  const out = new Uint8Array(ref.bytes + 1);
  let at = 0;
  const reader = res.body.getReader();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new TransientDownloadError(`download of ${ref.path} broke off (${(e as Error).message})`);
    }
    const { done, value } = chunk;
    if (done) break;
    const room = out.length - at;
    out.set(value.subarray(0, room), at);
    at += Math.min(value.byteLength, room);
    onBytes(value.byteLength);
    if (at === out.length) {
      await reader.cancel();
      break;
    }
  }
  return out.subarray(0, at);
}

/** `download`, tried again after each of BLOB_RETRY_PAUSES_MS while it fails transiently; progress is taken back. */
async function downloadWithRetries(
  url: string,
  ref: FileRef,
  doFetch: typeof fetch,
  onBytes: (n: number) => void,
  cache: RequestCache,
): Promise<Uint8Array> {
  for (let attempt = 0; ; attempt++) {
    let got = 0;
    try {
      return await download(
        url,
        ref,
        doFetch,
        (n) => {
          got += n;
          onBytes(n);
        },
        cache,
      );
    } catch (e) {
      onBytes(-got);
      const pause = BLOB_RETRY_PAUSES_MS[attempt];
      if (!(e instanceof TransientDownloadError)) throw e;
      if (pause === undefined) {
        throw new NetworkError(`${e.message}; ${attempt + 1} tries`);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

export async function loadEnsembleFiles(
  source: EnsembleSource,
  options: LoaderOptions,
): Promise<LoadedFiles> {
  const doFetch = options.fetch ?? fetch;
  options.onProgress?.({ phase: 'manifest' });
  const { manifest, offline } = await fetchManifest(source, options);
  const refs = manifestFiles(manifest);
  const files = new Map<string, Uint8Array>();
  const cached = { files: 0, bytes: 0 };
  const missing: FileRef[] = [];
  for (const ref of refs) {
    const hit = await options.store.getBlob(ref.sha256);
    if (hit) {
      try {
        // Re-verified on the way out: a cache entry damaged on disk must not slip through.
        await verifyBlob(ref, hit);
        files.set(ref.path, hit);
        cached.files++;
        cached.bytes += hit.byteLength;
        continue;
      } catch {
        await options.store.deleteBlob(ref.sha256);
      }
    }
    missing.push(ref);
  }

  const total = missing.reduce((n, r) => n + r.bytes, 0);
  let loaded = 0;
  const report = (n: number) => {
    loaded += n;
    options.onProgress?.({ phase: 'download', loaded: Math.max(0, Math.min(loaded, total)), total });
  };
  if (missing.length > 0) report(0);
  const queue = [...missing];
  /**
   * One blob, verified. A blob that fails verification is fetched once more bypassing the HTTP cache (blobs are
   * served as immutable, so a copy damaged on the way would otherwise be served from there forever); if that copy
   * fails too, the error stands.
   */
  const fetchVerified = async (ref: FileRef): Promise<Uint8Array> => {
    const url = blobUrl(source.edge, ref.sha256);
    let got = 0;
    const count = (n: number) => {
      got += n;
      report(n);
    };
    const first = await downloadWithRetries(url, ref, doFetch, count, 'default');
    try {
      await verifyBlob(ref, first);
      return first;
    } catch (e) {
      if (!(e instanceof IntegrityError)) throw e;
      report(-got);
      const second = await downloadWithRetries(url, ref, doFetch, report, 'reload');
      await verifyBlob(ref, second);
      return second;
    }
  };
  const worker = async () => {
    for (let ref = queue.shift(); ref; ref = queue.shift()) {
      const bytes = await fetchVerified(ref);
      await options.store.putBlob(ref.sha256, bytes);
      files.set(ref.path, bytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, missing.length) }, worker));
  return {
    manifest,
    files,
    offline,
    cached,
    downloaded: { files: missing.length, bytes: total },
  };
}
