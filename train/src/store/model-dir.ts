import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type FileRef,
  loadMember,
  modelArtifacts,
  serializeMember,
  shardPaths,
  type WeightDtype,
} from '@quorum/shared';
import type * as tf from '@tensorflow/tfjs';
import { replaceDir, sha256Hex } from './files';

/**
 * A member's model on disk: `model.json` + shards, as TF.js loads it. Written into a temporary sibling and swapped
 * in, so a crash leaves the previous copy (or none), never a torn one.
 */
export async function writeModelDir(
  dir: string,
  model: tf.LayersModel,
  dtype: WeightDtype = 'float32',
): Promise<FileRef[]> {
  const files = serializeMember(await modelArtifacts(model), dtype);
  return writeMemberFiles(dir, files.modelJson, files.shards);
}

export function writeMemberFiles(
  dir: string,
  modelJson: string,
  shards: { name: string; data: Uint8Array }[],
): FileRef[] {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const refs: FileRef[] = [];
  const put = (name: string, data: Uint8Array | string) => {
    writeFileSync(join(tmp, name), data);
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    refs.push({ path: name, bytes, sha256: sha256Hex(data) });
  };
  put('model.json', modelJson);
  for (const s of shards) put(s.name, s.data);
  replaceDir(tmp, dir);
  return refs;
}

export async function readModelDir(dir: string): Promise<tf.LayersModel> {
  const jsonPath = join(dir, 'model.json');
  const json = readFileSync(jsonPath, 'utf8');
  const shards = shardPaths(json, jsonPath).map((p) => new Uint8Array(readFileSync(join(dir, p))));
  return loadMember(json, shards, jsonPath);
}

export function hasModel(dir: string): boolean {
  return existsSync(join(dir, 'model.json'));
}
