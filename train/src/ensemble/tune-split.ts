import { join } from 'node:path';
import {
  checkSplitSpec,
  fillHoles,
  type LabelImage32,
  labelComponents,
  type Mask,
  objectScores,
  QuorumInputError,
  removeSmallObjects,
  type SplitSpec,
  splitTouching,
} from '@quorum/shared';
import type { LoadedSample } from '../data/dataset';
import { truthLabels } from '../evaluate/evaluate';
import { writeJsonAtomic } from '../store/files';
import { outOfFoldMask, planOutOfFold, type TrainedEnsemble } from './out-of-fold';

/**
 * Chooses how post-processing separates touching objects, on the training split only, so the choice cannot leak
 * the test split. Each candidate splits a foreground mask per training image and is scored by object F1 (IoU 0.5)
 * against the true instances. The masks are the ensemble's out-of-fold predictions when the members exist: the
 * split then meets the merged and ragged objects a model really produces, which a ground-truth mask understates
 * (see out-of-fold.ts). Otherwise they are the binary training masks, which need no model.
 */
export const SPLIT_CANDIDATES: readonly SplitSpec[] = [0, 1, 1.5, 2].flatMap((sigma) =>
  [0.5, 1, 2].map((h) => ({ method: 'distance-watershed' as const, h, sigma })),
);

/** A candidate must beat connected components by this much mean object F1 to be worth its cost. */
export const MIN_SPLIT_GAIN = 0.005;

/**
 * Pixels the choice looks at, at most: each candidate splits every chosen mask (about 0.7 s per megapixel here),
 * so a large dataset is sampled rather than making export take many minutes.
 */
export const MAX_TUNING_PIXELS = 16_000_000;

/**
 * Member evaluations (pixels x members) the out-of-fold predictions may cost, at most. A 4-filter member costs
 * about 0.2 to 0.4 s per megapixel on one WASM thread (under half a minute in all); an 8-filter depth-3 one about
 * 1.9 s (2 minutes). The bundled training split through its 12 members needs 58 M.
 */
export const MAX_OUT_OF_FOLD_PIXELS = 64_000_000;

export type SplitSource = 'out-of-fold predictions' | 'training masks';

/** One training image as the choice sees it: a foreground mask (not yet labelled) and the true instances. */
export interface TuningImage {
  mask: Mask;
  truth: LabelImage32;
}

export interface SplitScores {
  chosen: SplitSpec | null;
  /** Mean object F1 over the images, per candidate (null = connected components first). */
  scores: { split: SplitSpec | null; objectF1: number }[];
}

export interface SplitChoice extends SplitScores {
  source: SplitSource;
  /** Why the training masks were used instead of out-of-fold predictions. */
  fallback?: string;
  /** Training images scored (all that qualify, or an even sample within the budgets). */
  images: number;
  imageIds: string[];
  /** Training images every member trained on, so none predicts them honestly. */
  skipped: string[];
  /** Out-of-fold source only: the rule and threshold, and for each scored image the members it aggregates. */
  aggregation?: { rule: string; threshold: number };
  members?: Record<string, string[]>;
}

/**
 * Scores every candidate, and connected components, on the given masks. `minArea` drops small objects after
 * labelling, as the product's post-processing does, so a candidate is not charged for splinters it never ships.
 */
export function chooseSplit(images: readonly TuningImage[], minArea = 0): SplitScores {
  const meanF1 = (split: SplitSpec | null) => {
    if (images.length === 0) return 0;
    let sum = 0;
    for (const { mask, truth } of images) {
      const labelled = split ? splitTouching(mask, split) : labelComponents(mask, 8);
      const labels = minArea > 0 ? removeSmallObjects(labelled.labels, minArea) : labelled.labels;
      sum += objectScores(labels, truth, 0.5).f1;
    }
    return sum / images.length;
  };
  const scores: SplitScores['scores'] = [null, ...SPLIT_CANDIDATES].map((split) => ({
    split,
    objectF1: meanF1(split),
  }));
  const best = scores.slice(1).reduce((a, b) => (b.objectF1 > a.objectF1 ? b : a));
  const chosen = best.objectF1 > scores[0]!.objectF1 + MIN_SPLIT_GAIN ? best.split : null;
  return { chosen, scores };
}

/** The ground-truth route: each training image's binary mask, holes filled as the product fills them. */
export function trainingMaskImage(s: LoadedSample): TuningImage {
  return { mask: fillHoles({ width: s.width, height: s.height, data: s.mask }), truth: truthLabels(s) };
}

/**
 * Every k-th item, k the smallest for which every cost stays within its limit, so all parts of the dataset are
 * represented.
 */
export function evenSample<T>(
  items: readonly T[],
  budgets: readonly { cost: (item: T) => number; limit: number }[],
): T[] {
  let k = 1;
  for (const { cost, limit } of budgets)
    k = Math.max(k, Math.ceil(items.reduce((n, item) => n + cost(item), 0) / limit));
  return items.filter((_, i) => i % k === 0);
}

const pixels = (s: LoadedSample) => s.width * s.height;

export function describeSplit(split: SplitSpec | null): string {
  return split ? `distance watershed (h ${split.h} px, sigma ${split.sigma} px)` : 'connected components';
}

/**
 * The `--split` flag: 'auto' (default) chooses on the training split and records the choice in
 * OUT/split-choice.json; 'none' keeps connected components; 'h=H,sigma=S' fixes the parameters.
 */
export function parseSplitFlag(value: string | undefined): SplitSpec | null | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'none') return null;
  const m = /^h=([0-9.]+),sigma=([0-9.]+)$/.exec(value);
  const spec: SplitSpec | null = m
    ? { method: 'distance-watershed', h: Number(m[1]), sigma: Number(m[2]) }
    : null;
  if (!spec)
    throw new QuorumInputError('invalid-value', '--split', `"${value}"; want auto, none or h=H,sigma=S`);
  checkSplitSpec(spec, '--split');
  return spec;
}

export interface SplitContext {
  /** Decodes the training split (never the test split). */
  trainSamples: () => LoadedSample[];
  /** The trained members, or why there are none to predict with. */
  ensemble: () => Promise<TrainedEnsemble | { unavailable: string }>;
  outDir: string;
  log: (s: string) => void;
  maxPixels?: number;
  maxOutOfFoldPixels?: number;
}

/** Resolves the flag's value into the spec the manifest records, logging (and for 'auto' saving) why. */
export async function resolveSplit(
  flag: SplitSpec | null | 'auto',
  ctx: SplitContext,
): Promise<{ split: SplitSpec | null; choice: SplitChoice | null; note: string }> {
  if (flag !== 'auto') {
    const note = `Objects: ${describeSplit(flag)} (set with --split).`;
    ctx.log(note);
    return { split: flag, choice: null, note };
  }
  const samples = ctx.trainSamples();
  const loaded = await ctx.ensemble();
  let choice: SplitChoice;
  if ('unavailable' in loaded) choice = onTrainingMasks(samples, [], loaded.unavailable, ctx);
  else {
    try {
      choice = await onOutOfFold(samples, loaded, ctx);
    } finally {
      loaded.dispose();
    }
  }
  writeJsonAtomic(join(ctx.outDir, 'split-choice.json'), choice);
  const note = `Objects: ${describeSplit(choice.chosen)}, ${describeSource(choice)}`;
  ctx.log(note);
  return { split: choice.chosen, choice, note };
}

async function onOutOfFold(
  samples: readonly LoadedSample[],
  ensemble: TrainedEnsemble,
  ctx: SplitContext,
): Promise<SplitChoice> {
  const plan = planOutOfFold(ensemble.records, samples);
  if (plan.images.length === 0)
    return onTrainingMasks(samples, plan.skipped, 'every member trained on every training image', ctx);
  const chosen = evenSample(plan.images, [
    { cost: (i) => pixels(i.sample), limit: ctx.maxPixels ?? MAX_TUNING_PIXELS },
    {
      cost: (i) => pixels(i.sample) * i.members.length,
      limit: ctx.maxOutOfFoldPixels ?? MAX_OUT_OF_FOLD_PIXELS,
    },
  ]);
  const evaluations = chosen.reduce((n, i) => n + pixels(i.sample) * i.members.length, 0);
  ctx.log(
    `choosing the object split on out-of-fold predictions: ${chosen.length} training images, ` +
      `${(evaluations / 1e6).toFixed(1)} member-megapixels`,
  );
  const images: TuningImage[] = [];
  for (const image of chosen)
    images.push({
      mask: await outOfFoldMask(ensemble.runner, ensemble.spec, image),
      truth: truthLabels(image.sample),
    });
  const ids = (idx: number[]) => idx.map((m) => ensemble.records[m]!.id);
  return {
    source: 'out-of-fold predictions',
    ...chooseSplit(images, ensemble.spec.postprocess.minArea),
    images: chosen.length,
    imageIds: chosen.map((i) => i.sample.id),
    skipped: plan.skipped,
    aggregation: { rule: ensemble.spec.aggregation.rule, threshold: ensemble.spec.aggregation.threshold },
    members: Object.fromEntries(chosen.map((i) => [i.sample.id, ids(i.members)])),
  };
}

function onTrainingMasks(
  samples: readonly LoadedSample[],
  skipped: string[],
  fallback: string,
  ctx: SplitContext,
): SplitChoice {
  const chosen = evenSample(samples, [{ cost: pixels, limit: ctx.maxPixels ?? MAX_TUNING_PIXELS }]);
  return {
    source: 'training masks',
    fallback,
    ...chooseSplit(chosen.map(trainingMaskImage)),
    images: chosen.length,
    imageIds: chosen.map((s) => s.id),
    skipped,
  };
}

function describeSource(c: SplitChoice): string {
  const none = c.scores[0]!.objectF1.toFixed(3);
  const best = c.scores.find((s) => s.split === c.chosen)!.objectF1.toFixed(3);
  const tail = `all candidates in split-choice.json).`;
  if (c.source === 'training masks')
    return (
      `chosen on the ${c.images} training masks alone, as no out-of-fold prediction was possible (${c.fallback}) ` +
      `(object F1 of the split binary masks against their instances: ${best}, connected components ${none}; ${tail}`
    );
  const counts = Object.values(c.members ?? {}).map((m) => m.length);
  const range =
    Math.min(...counts) === Math.max(...counts)
      ? `${counts[0]}`
      : `${Math.min(...counts)} to ${Math.max(...counts)}`;
  const skipped = c.skipped.length
    ? `; ${c.skipped.length} training image(s) every member trained on were left out`
    : '';
  return (
    `chosen on out-of-fold ensemble predictions for ${c.images} training images (each the ${c.aggregation!.rule} ` +
    `of only the ${range} members that never trained on it${skipped}) (object F1 of the split predicted masks ` +
    `against the true instances: ${best}, connected components ${none}; ${tail}`
  );
}
