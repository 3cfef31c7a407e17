import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { QuorumInputError } from '@quorum/shared/errors';
import {
  type EnsembleManifest,
  type FileRef,
  manifestFiles,
  parseManifest,
  validateManifest,
} from '@quorum/shared/manifest';

/** An ensemble directory as exported by the trainer: DIR/ensemble.json and the files it names. */
export interface LocalEnsemble {
  dir: string;
  manifest: EnsembleManifest;
  /** The manifest document to publish, byte for byte (the file itself unless name/version were overridden). */
  manifestBytes: Uint8Array;
  /** Unique blobs by sha256, with the first path naming each. */
  blobs: LocalBlob[];
}

export interface LocalBlob extends FileRef {
  absPath: string;
}

export const MANIFEST_FILE = 'ensemble.json';

export async function readEnsembleDir(
  dir: string,
  override: { name?: string; version?: string } = {},
): Promise<LocalEnsemble> {
  const root = resolve(dir);
  const manifestPath = join(root, MANIFEST_FILE);
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(await readFile(manifestPath));
  } catch {
    throw new QuorumInputError(
      'missing',
      manifestPath,
      'not found: an ensemble directory holds ensemble.json',
    );
  }
  let manifest = parseManifest(new TextDecoder().decode(raw), manifestPath);
  let manifestBytes = raw;
  const renamed =
    (override.name !== undefined && override.name !== manifest.name) ||
    (override.version !== undefined && override.version !== manifest.version);
  if (renamed) {
    // Publishing under another name/version rewrites those two fields; the validator re-checks them.
    manifest = validateManifest({
      ...manifest,
      name: override.name ?? manifest.name,
      version: override.version ?? manifest.version,
    });
    manifestBytes = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
  }

  const seen = new Map<string, LocalBlob>();
  for (const f of manifestFiles(manifest)) {
    const absPath = resolve(root, f.path);
    const rel = relative(root, absPath);
    // The schema already forbids `..` in paths; this keeps a bad manifest from reading outside DIR regardless.
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new QuorumInputError('invalid-value', f.path, 'points outside the ensemble directory');
    }
    const prior = seen.get(f.sha256);
    if (prior && prior.bytes !== f.bytes) {
      throw new QuorumInputError('mismatch', f.path, `same sha256 as ${prior.path} but another size`);
    }
    if (!prior) seen.set(f.sha256, { ...f, absPath });
  }
  return { dir: root, manifest, manifestBytes, blobs: [...seen.values()] };
}

/**
 * Check a file on disk against its FileRef before anything is uploaded: a stale or truncated shard is caught here
 * with its path, instead of as a hash refusal from the edge halfway through a publish.
 */
export async function verifyLocalBlob(blob: LocalBlob): Promise<void> {
  let size: number;
  try {
    size = (await stat(blob.absPath)).size;
  } catch {
    throw new QuorumInputError('missing', blob.path, 'is named by ensemble.json but not found');
  }
  if (size !== blob.bytes) {
    throw new QuorumInputError('mismatch', blob.path, `is ${size} bytes; ensemble.json says ${blob.bytes}`);
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(blob.absPath)) hash.update(chunk as Buffer);
  const actual = hash.digest('hex');
  if (actual !== blob.sha256) {
    throw new QuorumInputError(
      'mismatch',
      blob.path,
      `has sha256 ${actual}; ensemble.json says ${blob.sha256}`,
    );
  }
}

export async function readBlob(blob: LocalBlob): Promise<Uint8Array> {
  return new Uint8Array(await readFile(blob.absPath));
}
