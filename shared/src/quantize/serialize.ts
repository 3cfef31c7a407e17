import type { WeightDtype } from '../manifest/schema';
import { concat, quantizeWeights, type WeightSpec } from './weights';

/**
 * The files of one member as TF.js's `model.json` + binary shards, built from the artifacts TF.js hands a save
 * handler. Kept free of I/O so the trainer (Node fs) and tests (memory) write them the same way.
 */
export interface ModelArtifactsLike {
  modelTopology?: unknown;
  weightSpecs?: WeightSpec[];
  weightData?: ArrayBuffer | ArrayBuffer[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

export interface MemberFiles {
  /** `model.json`'s text. */
  modelJson: string;
  /** Shards in the order model.json lists them. */
  shards: { name: string; data: Uint8Array }[];
}

/** TF.js's converter default shard size: small enough for HTTP caches and partial retries. */
export const SHARD_BYTES = 4 * 1024 * 1024;

export function weightBytes(artifacts: ModelArtifactsLike): Uint8Array {
  const data = artifacts.weightData;
  if (!data) return new Uint8Array(0);
  return Array.isArray(data) ? concat(data.map((d) => new Uint8Array(d))) : new Uint8Array(data);
}

export function serializeMember(
  artifacts: ModelArtifactsLike,
  dtype: WeightDtype,
  shardBytes = SHARD_BYTES,
): MemberFiles {
  const { specs, data } = quantizeWeights(artifacts.weightSpecs ?? [], weightBytes(artifacts), dtype);
  const shards: MemberFiles['shards'] = [];
  const count = Math.max(1, Math.ceil(data.byteLength / shardBytes));
  for (let i = 0; i < count; i++) {
    shards.push({
      name: `group1-shard${i + 1}of${count}.bin`,
      data: data.slice(i * shardBytes, (i + 1) * shardBytes),
    });
  }
  const modelJson = JSON.stringify({
    format: 'layers-model',
    generatedBy: artifacts.generatedBy ?? 'TensorFlow.js',
    convertedBy: 'quorum',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: shards.map((s) => s.name), weights: specs }],
  });
  return { modelJson, shards };
}
