import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type EnsembleManifest,
  type EnsembleRunner,
  loadMember,
  parseManifest,
  QuorumInputError,
  tfEnsembleRunner,
} from '@quorum/shared';
import type * as tf from '@tensorflow/tfjs';
import { sha256Hex } from './files';

/**
 * Load an exported ensemble folder the way the browser loads one from the edge: read ensemble.json, verify every
 * file's size and SHA-256 against the manifest, then build the members.
 */
export interface LoadedEnsemble {
  manifest: EnsembleManifest;
  models: tf.LayersModel[];
  runner: EnsembleRunner;
  dispose(): void;
}

export function readVerified(dir: string, ref: { path: string; bytes: number; sha256: string }): Uint8Array {
  const path = join(dir, ref.path);
  if (!existsSync(path))
    throw new QuorumInputError('missing', path, 'is listed in ensemble.json but missing');
  const data = new Uint8Array(readFileSync(path));
  if (data.byteLength !== ref.bytes) {
    throw new QuorumInputError(
      'mismatch',
      path,
      `is ${data.byteLength} bytes; ensemble.json says ${ref.bytes} (truncated or replaced?)`,
    );
  }
  if (sha256Hex(data) !== ref.sha256)
    throw new QuorumInputError(
      'mismatch',
      path,
      'does not match its sha256 in ensemble.json (corrupted or tampered)',
    );
  return data;
}

export async function loadEnsembleDir(dir: string): Promise<LoadedEnsemble> {
  const manifestPath = join(dir, 'ensemble.json');
  if (!existsSync(manifestPath)) {
    throw new QuorumInputError(
      'missing',
      manifestPath,
      'not found: not an exported ensemble (is training finished? see quorum train --help)',
    );
  }
  const manifest = parseManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
  const models: tf.LayersModel[] = [];
  for (const member of manifest.members) {
    const [modelRef, ...shardRefs] = member.files;
    const json = new TextDecoder().decode(readVerified(dir, modelRef!));
    const shards = shardRefs.map((r) => readVerified(dir, r));
    models.push(await loadMember(json, shards, join(dir, modelRef!.path)));
  }
  const runner = tfEnsembleRunner(
    models,
    manifest.members.map((m) => ({ id: m.id, mode: m.mode })),
  );
  return {
    manifest,
    models,
    runner,
    dispose: () => {
      for (const m of models) m.dispose();
    },
  };
}
