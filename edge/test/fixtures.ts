import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type EnsembleManifest, MANIFEST_SCHEMA, validateManifest } from '@quorum/shared/manifest';

/**
 * Test ensembles: small random blobs and a manifest that follows the shared schema (it is run through
 * validateManifest, so a schema change breaks these fixtures loudly instead of silently testing stale shapes).
 */
type Bytes = Uint8Array<ArrayBuffer>;

export interface TestEnsemble {
  manifest: EnsembleManifest;
  manifestBytes: Bytes;
  /** path -> bytes */
  files: Map<string, Bytes>;
  /** sha256 -> bytes */
  blobs: Map<string, Bytes>;
}

export const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Node Buffers are not accepted by every workerd binding through miniflare: hand out plain Uint8Arrays. */
const random = (n: number): Bytes => new Uint8Array(randomBytes(n));

export interface EnsembleSpec {
  name: string;
  version: string;
  members?: number;
  /** Bytes of each member's weight shards (default one 3,000-byte shard). */
  shards?: number[];
  /** Reuse these shard contents (e.g. to share blobs between versions). */
  sharedShard?: Bytes;
}

export function makeEnsemble(spec: EnsembleSpec): TestEnsemble {
  const files = new Map<string, Bytes>();
  const members = Array.from({ length: spec.members ?? 2 }, (_, i) => {
    const id = `m${i}`;
    const modelJson = new TextEncoder().encode(
      JSON.stringify({ format: 'layers-model', member: id, nonce: Buffer.from(random(8)).toString('hex') }),
    );
    const refs: { path: string; bytes: Bytes }[] = [{ path: `members/${id}/model.json`, bytes: modelJson }];
    (spec.shards ?? [3000]).forEach((n, s) => {
      refs.push({ path: `members/${id}/group1-shard${s + 1}.bin`, bytes: spec.sharedShard ?? random(n) });
    });
    for (const r of refs) files.set(r.path, r.bytes);
    return {
      id,
      mode: 'all',
      fold: i,
      trainingIdsHash: sha256(`train-${i}`),
      trainingCount: 3,
      validationIds: [`img-${i}`],
      validationDice: 0.8,
      epochs: 5,
      files: refs.map((r) => ({ path: r.path, bytes: r.bytes.byteLength, sha256: sha256(r.bytes) })),
    };
  });
  const manifest = validateManifest({
    schema: MANIFEST_SCHEMA,
    name: spec.name,
    version: spec.version,
    created: new Date().toISOString(),
    format: 'tfjs-layers',
    architecture: { depth: 3, baseFilters: 8, batchNorm: true, upsampling: 'transpose', inputChannels: 1 },
    input: { channels: 1, normalization: { kind: 'percentile', low: 1, high: 99.8, clip: true } },
    tiling: { tile: 256, halo: 32, blend: 'gaussian' },
    members,
    partition: {
      version: 1,
      seed: 7,
      requestedFolds: members.length,
      modeSource: { kind: 'single' },
      modes: [{ name: 'all', folds: members.map((_, i) => [`img-${i}`]) }],
    },
    aggregation: { rule: 'mean', threshold: 0.5 },
    postprocess: { fillHoles: true, minArea: 10 },
    quantization: { dtype: 'float32', variants: [] },
    metrics: null,
  });
  const blobs = new Map<string, Bytes>();
  for (const bytes of files.values()) blobs.set(sha256(bytes), bytes);
  return {
    manifest,
    manifestBytes: new TextEncoder().encode(JSON.stringify(manifest, null, 2)),
    files,
    blobs,
  };
}

/** Lay an ensemble out on disk the way the trainer exports it: DIR/ensemble.json plus the files it names. */
export async function writeEnsembleDir(dir: string, e: TestEnsemble): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ensemble.json'), e.manifestBytes);
  for (const [path, bytes] of e.files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  return dir;
}
