import { existsSync, rmSync } from 'node:fs';
import {
  AGGREGATION_RULES,
  type AggregationRule,
  type EnsembleManifest,
  loadMember,
  MANIFEST_SCHEMA,
  type ManifestMember,
  memberId,
  modelArtifacts,
  type Partition,
  type QuantizationVariant,
  QuorumInputError,
  type SegmentationSpec,
  type SplitSpec,
  serializeMember,
  tfEnsembleRunner,
  validateManifest,
  WEIGHT_DTYPES,
  type WeightDtype,
} from '@quorum/shared';
import type * as tf from '@tensorflow/tfjs';
import type { LoadedSample } from '../data/dataset';
import { evaluate, headline } from '../evaluate/evaluate';
import { readJson, writeJsonAtomic } from '../store/files';
import { readModelDir, writeMemberFiles } from '../store/model-dir';
import { exportTiling, type TrainConfig } from './config';
import { ensembleLayout } from './layout';
import type { MemberRecord } from './train-ensemble';

/**
 * Export a fully trained folder: measure each weight dtype's test Dice against float32, choose the variant
 * (explicit, or 'auto' = the smallest whose Dice drops by at most MAX_DICE_DROP), write members/<id>/ in it, and
 * write ensemble.json last.
 */
export const MAX_DICE_DROP = 0.005;

export interface ExportRequest {
  outDir: string;
  name: string;
  version: string;
  description?: string;
  rule: AggregationRule;
  /** How touching objects are separated (null: connected components). */
  split: SplitSpec | null;
  /** Objects under this many pixels are dropped after separation (postprocess.minArea). */
  minArea: number;
  /** Labelled held-out images (the test split); variants are compared on them when given. */
  testSamples: readonly LoadedSample[];
  modeOf: (id: string) => string;
  log: (line: string) => void;
}

/**
 * The manifest's postprocess.minArea unless a choice on out-of-fold predictions or --min-area says otherwise: a
 * speck under 8 px is far below the smallest nucleus at the resolutions Quorum is trained on.
 */
export const DEFAULT_MIN_AREA = 8;

export function segmentationSpec(
  config: TrainConfig,
  rule: AggregationRule,
  split: SplitSpec | null,
  minArea = DEFAULT_MIN_AREA,
): SegmentationSpec {
  return {
    architecture: config.architecture,
    input: { channels: 1, normalization: config.normalization },
    tiling: exportTiling(config),
    aggregation: { rule, threshold: 0.5 },
    postprocess: { fillHoles: true, minArea, ...(split ? { split } : {}) },
  };
}

/** The float32 models of a training folder's finished members (all of its partition's members unless `ids`). */
export async function loadCheckpoints(
  outDir: string,
  ids?: readonly string[],
): Promise<{ records: MemberRecord[]; models: tf.LayersModel[] }> {
  const layout = ensembleLayout(outDir);
  const partition = readJson<Partition>(layout.partition);
  const wanted = ids ?? partition.modes.flatMap((m) => m.folds.map((_, f) => memberId(m.name, f)));
  const records: MemberRecord[] = [];
  for (const id of wanted) {
    if (!existsSync(layout.memberInfo(id))) {
      throw new QuorumInputError(
        'missing',
        layout.checkpoint(id),
        `member ${id} is not trained yet; run quorum train (or assemble) first`,
      );
    }
    records.push(readJson<MemberRecord>(layout.memberInfo(id)));
  }
  const models: tf.LayersModel[] = [];
  for (const r of records) models.push(await readModelDir(layout.checkpoint(r.id)));
  return { records, models };
}

async function variantModels(models: readonly tf.LayersModel[], dtype: WeightDtype) {
  const files = [];
  for (const m of models) files.push(serializeMember(await modelArtifacts(m), dtype));
  const bytes = files.reduce(
    (n, f) => n + Buffer.byteLength(f.modelJson) + f.shards.reduce((a, s) => a + s.data.byteLength, 0),
    0,
  );
  const loaded = await Promise.all(
    files.map((f) =>
      loadMember(
        f.modelJson,
        f.shards.map((s) => s.data),
      ),
    ),
  );
  return { files, bytes, loaded };
}

export async function exportEnsemble(req: ExportRequest): Promise<EnsembleManifest> {
  const layout = ensembleLayout(req.outDir);
  const config = readJson<TrainConfig>(layout.config);
  const partition = readJson<Partition>(layout.partition);
  if (!AGGREGATION_RULES.includes(req.rule))
    throw new QuorumInputError('invalid-value', '--aggregate', `${req.rule}`);
  const { records, models } = await loadCheckpoints(req.outDir);
  const infos = records.map((r) => ({ id: r.id, mode: r.mode }));
  const spec = segmentationSpec(config, req.rule, req.split, req.minArea);
  const variants: (QuantizationVariant & { files: Awaited<ReturnType<typeof variantModels>>['files'] })[] =
    [];
  let float32Dice: number | null = null;
  const metricsByDtype = new Map<WeightDtype, EnsembleManifest['metrics']>();
  for (const dtype of WEIGHT_DTYPES) {
    const v = await variantModels(models, dtype);
    let dice: number | null = null;
    if (req.testSamples.length) {
      const ev = await evaluate(tfEnsembleRunner(v.loaded, infos), spec, req.testSamples, req.modeOf);
      dice = ev.overall.mean.dice.mean;
      metricsByDtype.set(dtype, headline(ev, 'test'));
      if (dtype === 'float32') float32Dice = dice;
    }
    for (const m of v.loaded) m.dispose();
    const diceDelta = dice !== null && float32Dice !== null ? dice - float32Dice : null;
    variants.push({ dtype, bytes: v.bytes, diceDelta, files: v.files });
    req.log(
      `variant ${dtype}: ${(v.bytes / 1024).toFixed(0)} KiB${diceDelta !== null ? `, test Dice change ${diceDelta >= 0 ? '+' : ''}${diceDelta.toFixed(4)}` : ''}`,
    );
  }
  for (const m of models) m.dispose();
  const chosen =
    config.quantize !== 'auto'
      ? variants.find((v) => v.dtype === config.quantize)!
      : variants
          .filter((v) => (v.diceDelta === null ? v.dtype !== 'uint8' : v.diceDelta >= -MAX_DICE_DROP))
          .sort((a, b) => a.bytes - b.bytes)[0]!;
  const chosenMetrics = metricsByDtype.get(chosen.dtype) ?? null;
  req.log(
    `exporting ${chosen.dtype} weights${config.quantize === 'auto' ? ` (smallest with a Dice drop <= ${MAX_DICE_DROP})` : ''}`,
  );

  const previous = existsSync(layout.manifest) ? readJson<EnsembleManifest>(layout.manifest) : null;
  rmSync(layout.manifest, { force: true });
  const members: ManifestMember[] = records.map((r, i) => {
    const files = chosen.files[i]!;
    const refs = writeMemberFiles(layout.exported(r.id), files.modelJson, files.shards);
    return {
      id: r.id,
      mode: r.mode,
      fold: r.fold,
      trainingIdsHash: r.trainingIdsHash,
      trainingCount: r.trainIds.length,
      validationIds: r.validationIds,
      validationDice: Math.max(0, Math.min(1, r.validationDice)),
      epochs: r.epochsRun,
      files: refs.map((f) => ({ ...f, path: `members/${r.id}/${f.path}` })),
    };
  });
  const manifest: EnsembleManifest = {
    schema: MANIFEST_SCHEMA,
    name: req.name,
    version: req.version,
    created: new Date().toISOString(),
    ...(req.description ? { description: req.description } : {}),
    format: 'tfjs-layers',
    architecture: config.architecture,
    input: spec.input,
    tiling: spec.tiling,
    members,
    partition,
    aggregation: spec.aggregation,
    postprocess: spec.postprocess,
    quantization: {
      dtype: chosen.dtype,
      variants: variants.map(({ dtype, bytes, diceDelta }) => ({ dtype, bytes, diceDelta })),
    },
    metrics: chosenMetrics,
  };
  // Re-exporting unchanged members with the same options gives the same manifest, byte for byte: the edge never
  // overwrites a published version, so a rerun (e.g. to add baselines to the report) must not change it.
  if (previous && sameExceptCreated(previous, manifest)) manifest.created = previous.created;
  validateManifest(manifest);
  writeJsonAtomic(layout.manifest, manifest);
  return manifest;
}

function sameExceptCreated(a: EnsembleManifest, b: EnsembleManifest): boolean {
  return JSON.stringify({ ...a, created: '' }) === JSON.stringify({ ...b, created: '' });
}
