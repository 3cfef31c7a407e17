import { isQuorumInputError } from '@quorum/shared/errors';
import {
  type EnsembleManifest,
  type FileRef,
  manifestFiles,
  validateManifest,
} from '@quorum/shared/manifest';
import { HttpError, quote } from './http';
import { blobKey } from './keys';
import { BLOB_CHECK_CONCURRENCY, MAX_MANIFEST_FILES } from './limits';

/**
 * Checks that make a manifest publishable. The schema is the shared core's (the same validator the trainer and
 * the browser use), so the edge can never accept a manifest the app would later refuse.
 */
export interface CheckedManifest {
  manifest: EnsembleManifest;
  files: FileRef[];
  /** Total bytes of the files. */
  size: number;
}

export function parsePublishedManifest(bytes: Uint8Array, name: string, version: string): CheckedManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new HttpError(400, 'manifest is not valid UTF-8 JSON');
  }
  let manifest: EnsembleManifest;
  try {
    manifest = validateManifest(json);
  } catch (e) {
    if (isQuorumInputError(e))
      throw new HttpError(400, `invalid manifest: ${e.message}`, { field: e.subject });
    throw e;
  }
  if (manifest.name !== name) {
    throw new HttpError(400, `manifest name ${quote(manifest.name)} does not match the URL's ${quote(name)}`);
  }
  if (manifest.version !== version) {
    throw new HttpError(
      400,
      `manifest version ${quote(manifest.version)} does not match the URL's ${quote(version)}`,
    );
  }
  const files = manifestFiles(manifest);
  if (files.length > MAX_MANIFEST_FILES) {
    throw new HttpError(400, `manifest names ${files.length} files; the limit is ${MAX_MANIFEST_FILES}`);
  }
  return { manifest, files, size: files.reduce((s, f) => s + f.bytes, 0) };
}

/**
 * Every blob the manifest names must already be in R2 with the stated size: this is what makes "blobs first,
 * manifest second" safe, since a registered version can never point at a byte that is not there. (The sha256
 * itself was verified when each blob was uploaded; the key is the hash.)
 */
export async function requireBlobs(bucket: R2Bucket, files: FileRef[]): Promise<void> {
  const unique = [...new Map(files.map((f) => [f.sha256, f])).values()];
  const missing: { path: string; sha256: string }[] = [];
  const wrongSize: { path: string; sha256: string; expected: number; actual: number }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const f = unique[next++]!;
      const obj = await bucket.head(blobKey(f.sha256));
      if (!obj) missing.push({ path: f.path, sha256: f.sha256 });
      else if (obj.size !== f.bytes) {
        wrongSize.push({ path: f.path, sha256: f.sha256, expected: f.bytes, actual: obj.size });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BLOB_CHECK_CONCURRENCY, unique.length) }, worker));
  // Files sharing a sha256 must agree on the size too.
  for (const f of files) {
    const first = unique.find((u) => u.sha256 === f.sha256)!;
    if (f.bytes !== first.bytes) {
      wrongSize.push({ path: f.path, sha256: f.sha256, expected: f.bytes, actual: first.bytes });
    }
  }
  if (missing.length || wrongSize.length) {
    const parts = [];
    if (missing.length) parts.push(`${missing.length} missing (first: ${missing[0]!.path})`);
    if (wrongSize.length) parts.push(`${wrongSize.length} with another size (first: ${wrongSize[0]!.path})`);
    throw new HttpError(
      422,
      `manifest names blobs the edge does not hold: ${parts.join(', ')}; upload blobs first`,
      {
        missing,
        wrongSize,
      },
    );
  }
}
