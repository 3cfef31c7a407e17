import { existsSync } from 'node:fs';
import {
  type AggregationRule,
  type EnsembleRunner,
  type Mask,
  memberId,
  type Partition,
  type ProbabilityMap,
  type SegmentationSpec,
  segmentImage,
  tfEnsembleRunner,
} from '@quorum/shared';
import type { LoadedSample } from '../data/dataset';
import { readJson } from '../store/files';
import type { TrainConfig } from './config';
import { loadCheckpoints, segmentationSpec } from './export';
import { ensembleLayout } from './layout';
import type { MemberRecord } from './train-ensemble';

/**
 * Out-of-fold predictions of a training folder: for each training image, the ensemble restricted to the members
 * that never trained on it. That is every member of another mode plus the member whose held-out fold holds the
 * image. The held-out member was early-stopped on that image, so the estimate is a little optimistic, as any
 * cross-validation estimate with early stopping is; no member ever fitted its weights to it.
 *
 * These subsets lean more on other modes than the full ensemble does, but they are the only predictions on
 * labelled images that the test split need not supply.
 */
export type FoldRecord = Pick<MemberRecord, 'id' | 'trainIds'>;

/** Indices (in `records` order) of the members that never trained on image `id`. */
export function outOfFoldMembers(records: readonly FoldRecord[], id: string): number[] {
  return records.flatMap((r, i) => (r.trainIds.includes(id) ? [] : [i]));
}

export interface OutOfFoldImage {
  sample: LoadedSample;
  /** Member indices the image's prediction aggregates. */
  members: number[];
}

/** Which members predict each sample; samples every member trained on are `skipped` (no honest prediction). */
export function planOutOfFold(
  records: readonly FoldRecord[],
  samples: readonly LoadedSample[],
): { images: OutOfFoldImage[]; skipped: string[] } {
  const images: OutOfFoldImage[] = [];
  const skipped: string[] = [];
  for (const sample of samples) {
    const members = outOfFoldMembers(records, sample.id);
    if (members.length) images.push({ sample, members });
    else skipped.push(sample.id);
  }
  return { images, skipped };
}

/** `runner` seen through a subset of its members, so the product's own pipeline aggregates only them. */
export function subsetRunner(runner: EnsembleRunner, indices: readonly number[]): EnsembleRunner {
  return {
    members: indices.map((i) => runner.members[i]!),
    channels: runner.channels,
    predict: (index, tiles, count, h, w) => runner.predict(indices[index]!, tiles, count, h, w),
  };
}

/**
 * The image's out-of-fold foreground, thresholded and hole-filled as `spec` says but neither labelled nor
 * area-filtered (the split under test decides the objects and the area filter runs on them afterwards, in the
 * product's order), the probability map the rule thresholded (a probability-watershed split floods it) and,
 * for members with a contour output, the contour map (a contour-watershed split floods that).
 */
export async function outOfFoldPrediction(
  runner: EnsembleRunner,
  spec: SegmentationSpec,
  image: OutOfFoldImage,
): Promise<{ mask: Mask; probability: ProbabilityMap; contour?: ProbabilityMap }> {
  const { split: _, ...post } = spec.postprocess;
  const seg = await segmentImage(
    image.sample.raw,
    { ...spec, postprocess: { ...post, minArea: 0 } },
    subsetRunner(runner, image.members),
    // Every member on every tile: the probability map, not only the mask, must be the full ensemble's.
    { adaptive: 'off' },
  );
  const { width, height } = seg.mask;
  return {
    mask: seg.mask,
    probability: { width, height, data: seg.probability },
    ...(seg.contour ? { contour: { width, height, data: seg.contour } } : {}),
  };
}

export interface TrainedEnsemble {
  records: FoldRecord[];
  runner: EnsembleRunner;
  /** The spec export will ship, without a split (that is what is being chosen). */
  spec: SegmentationSpec;
  dispose(): void;
}

/**
 * Every member of the folder's partition, as float32 models, or why out-of-fold predictions are impossible:
 * tuning on a partial ensemble would choose for an ensemble that is not the one exported.
 */
export async function loadTrainedEnsemble(
  outDir: string,
  rule: AggregationRule,
): Promise<TrainedEnsemble | { unavailable: string }> {
  const layout = ensembleLayout(outDir);
  const partition = readJson<Partition>(layout.partition);
  const ids = partition.modes.flatMap((m) => m.folds.map((_, f) => memberId(m.name, f)));
  const missing = ids.filter((id) => !existsSync(layout.memberInfo(id)));
  if (missing.length)
    return { unavailable: `${missing.length} of ${ids.length} members not trained (${missing.join(', ')})` };
  const { records, models } = await loadCheckpoints(outDir, ids);
  return {
    records,
    runner: tfEnsembleRunner(
      models,
      records.map((r) => ({ id: r.id, mode: r.mode })),
    ),
    spec: segmentationSpec(readJson<TrainConfig>(layout.config), rule, null),
    dispose: () => {
      for (const m of models) m.dispose();
    },
  };
}
