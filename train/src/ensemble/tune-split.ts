import { join } from 'node:path';
import {
  checkSplitSpec,
  fillHoles,
  type LabelImage32,
  type Labelled,
  labelComponents,
  type Mask,
  objectRates,
  objectScores,
  type ProbabilityMap,
  QuorumInputError,
  type SplitSpec,
  splitNeedsContour,
  splitNeedsProbability,
  splitTouching,
  type UNetConfig,
} from '@quorum/shared';
import type { LoadedSample } from '../data/dataset';
import { truthLabels } from '../evaluate/evaluate';
import { writeJsonAtomic } from '../store/files';
import { DEFAULT_MIN_AREA } from './export';
import { outOfFoldPrediction, planOutOfFold, type TrainedEnsemble } from './out-of-fold';

/**
 * Chooses how post-processing separates touching objects and how small an object it drops, on the training split
 * only, so the choice cannot leak the test split. Each (split, minimum area) option post-processes a foreground
 * mask per training image and is scored by object F1 (IoU 0.5) against the true instances. The masks are the
 * ensemble's out-of-fold predictions when the members exist: the split then meets the merged and ragged objects a
 * model really produces, which a ground-truth mask understates, and the area filter meets its specks, which a
 * ground-truth mask lacks altogether (see out-of-fold.ts). Otherwise they are the binary training masks, which need
 * no model; the minimum area then stays at DEFAULT_MIN_AREA (see onTrainingMasks).
 */
export const SPLIT_CANDIDATES: readonly SplitSpec[] = [
  // h 0.25 because merges dominate the bundled ensemble's out-of-fold errors: there it scores 0.771 against 0.761
  // for h 0.5 (sigma 1, 32 px).
  ...[0, 1, 1.5, 2].flatMap((sigma) =>
    [0.25, 0.5, 1, 2].map((h) => ({ method: 'distance-watershed' as const, h, sigma })),
  ),
  // The same, with the maxima taken on the distance map of the confident core (p > 0.6 or 0.7): nuclei joined only
  // by less certain pixels get a marker each. On the bundled ensemble's out-of-fold predictions (40 images, 32 px)
  // core 0.6 with h 0.25, sigma 1 scores 0.786 against 0.771 without a core; 0.7: 0.775, 0.8: 0.771, 0.9: 0.770.
  ...[0.6, 0.7].flatMap((core) =>
    [1, 1.5].flatMap((sigma) =>
      [0.25, 0.5].map((h) => ({ method: 'distance-watershed' as const, h, sigma, core })),
    ),
  ),
  // Markers from the ensemble's confident cores: these part objects whose thresholded masks merged without a neck
  // (on the bundled ensemble's out-of-fold predictions most missed nuclei lie inside such merges). They need a
  // probability map, so only out-of-fold predictions can score them.
  ...[0.6, 0.7, 0.8, 0.9].map((seed) => ({ method: 'probability-watershed' as const, seed })),
  // Markers from the members' learnt contours (members trained with --contour): cores where the contour
  // probability stays under the level.
  ...[0.3, 0.4, 0.5, 0.6, 0.7].map((core) => ({ method: 'contour-watershed' as const, core })),
];

/**
 * Minimum object areas (px) tried on out-of-fold predictions, doubling from DEFAULT_MIN_AREA, plus 0 (no filter)
 * for data whose objects are tiny. On the bundled training split's out-of-fold predictions (40 images, split
 * h 0.5, sigma 1) 45 of the 100 predicted objects that touch no true nucleus are under 16 px and 62 under 32 px,
 * while no true nucleus is under 16 px and 2% are under 32 px; but 9% are under 64 px and a quarter under 128 px,
 * so the list stops at 64.
 */
export const MIN_AREA_CANDIDATES: readonly number[] = [0, DEFAULT_MIN_AREA, 16, 32, 64];

/**
 * Mean object F1 a more elaborate option must add to be preferred. Options are ordered from simplest:
 * connected components before any watershed, then the smaller minimum area (it drops fewer objects, so it risks
 * fewer real small nuclei on new data). The choice is the simplest option within MIN_SPLIT_GAIN of the best
 * option's score (the "one standard error" rule of model selection, with a fixed tolerance): an option is passed
 * over for a more elaborate one only when the best option beats it by more than this.
 */
export const MIN_SPLIT_GAIN = 0.005;

/**
 * Pixels the choice looks at, at most: each split candidate labels every chosen mask once (about 0.7 s per
 * megapixel here) and each minimum area filters and scores those labels (far cheaper), so a large dataset is
 * sampled rather than making export take many minutes.
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
  /** The map the mask was thresholded from; absent for training masks (probability splits are then skipped). */
  probability?: ProbabilityMap;
  /** The members' contour map, when they have a contour output (contour splits are skipped otherwise). */
  contour?: ProbabilityMap;
}

export interface OptionScore {
  split: SplitSpec | null;
  minArea: number;
  /** Mean object F1 over the images. */
  objectF1: number;
}

export interface SplitScores {
  chosen: SplitSpec | null;
  /** The chosen postprocess.minArea. */
  minArea: number;
  /** Every option: connected components first, then SPLIT_CANDIDATES; minimum areas ascending within each. */
  scores: OptionScore[];
}

export interface SplitChoice extends SplitScores {
  source: SplitSource;
  /** Why the training masks were used instead of out-of-fold predictions. */
  fallback?: string;
  /** How the minimum area was settled: chosen with the split, fixed by --min-area, or the default. */
  minAreaFrom: 'chosen' | '--min-area' | 'default';
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
 * Scores every (split, minimum area) option on the given masks and chooses one by the MIN_SPLIT_GAIN rule. Each
 * split labels and matches each mask once; each minimum area then drops the small objects of those labels, as the
 * product's post-processing does after separating, so a candidate is not charged for splinters it never ships.
 */
export function chooseSplit(
  images: readonly TuningImage[],
  minAreas: readonly number[] = MIN_AREA_CANDIDATES,
): SplitScores {
  if (minAreas.length === 0 || minAreas.some((m) => !Number.isInteger(m) || m < 0))
    throw new QuorumInputError('invalid-value', 'minAreas', `${minAreas.join(', ')}; want integers >= 0`);
  const areas = [...new Set(minAreas)].sort((a, b) => a - b);
  const scores: OptionScore[] = [];
  const withProbability = images.every((i) => i.probability !== undefined);
  const withContour = images.length > 0 && images.every((i) => i.contour !== undefined);
  const candidates = SPLIT_CANDIDATES.filter(
    (c) =>
      (!splitNeedsProbability(c) || withProbability) && (c.method !== 'contour-watershed' || withContour),
  );
  for (const split of [null, ...candidates]) {
    const sums = areas.map(() => 0);
    for (const { mask, truth, probability, contour } of images) {
      const maps = { ...(probability ? { probability } : {}), ...(contour ? { contour } : {}) };
      const labelled = split ? splitTouching(mask, split, maps) : labelComponents(mask, 8);
      const f1s = filteredF1s(labelled, truth, areas);
      f1s.forEach((f1, k) => {
        sums[k]! += f1;
      });
    }
    areas.forEach((minArea, k) => {
      scores.push({ split, minArea, objectF1: images.length ? sums[k]! / images.length : 0 });
    });
  }
  const chosen = simplestNearBest(scores);
  return { chosen: chosen.split, minArea: chosen.minArea, scores };
}

/**
 * Object F1 (IoU 0.5) of `labelled` after removeSmallObjects at each of `minAreas`, from one matching: at IoU > 0.5
 * an object has at most one candidate partner (see objectScores), and dropping objects changes no other object's
 * IoU, so a dropped matched object turns its partner into a miss and a dropped unmatched one only stops being a
 * false object. Equal to matching each filtered image anew (the tests check it), at a fraction of the cost.
 */
export function filteredF1s(labelled: Labelled, truth: LabelImage32, minAreas: readonly number[]): number[] {
  const scored = objectScores(labelled.labels, truth, 0.5);
  const area = new Float64Array(labelled.count + 1);
  for (const v of labelled.labels.data) area[v]!++;
  const matched = new Uint8Array(labelled.count + 1);
  for (const m of scored.matches) matched[m.pred] = 1;
  return minAreas.map((minArea) => {
    let lostMatches = 0;
    let lostFalse = 0;
    for (let id = 1; id <= labelled.count; id++) {
      if (area[id]! >= minArea) continue;
      if (matched[id]) lostMatches++;
      else lostFalse++;
    }
    return objectRates({
      tp: scored.tp - lostMatches,
      fp: scored.fp - lostFalse,
      fn: scored.fn + lostMatches,
    }).f1;
  });
}

/**
 * The simplest option whose score is within MIN_SPLIT_GAIN of the best: connected components before any
 * watershed, then the smaller minimum area; watershed candidates have no order among themselves, so the
 * higher-scoring (then the earlier) one wins between them.
 */
export function simplestNearBest(scores: readonly OptionScore[]): OptionScore {
  const best = Math.max(...scores.map((s) => s.objectF1));
  const near = scores.filter((s) => best - s.objectF1 <= MIN_SPLIT_GAIN);
  const rank = (s: OptionScore) => [s.split ? 1 : 0, s.minArea, -s.objectF1];
  return near.reduce((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    const k = ra.findIndex((v, i) => v !== rb[i]);
    return k >= 0 && rb[k]! < ra[k]! ? b : a;
  });
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
  if (!split) return 'connected components';
  switch (split.method) {
    case 'probability-watershed':
      return `probability watershed (markers where p >= ${split.seed})`;
    case 'contour-watershed':
      return `contour watershed (markers where the contour probability < ${split.core})`;
    default:
      return `distance watershed (h ${split.h} px, sigma ${split.sigma} px${split.core !== undefined ? `, maxima of the core where p > ${split.core}` : ''})`;
  }
}

/**
 * The `--split` flag: 'auto' (default) chooses on the training split and records the choice in
 * OUT/split-choice.json; 'none' keeps connected components; 'h=H,sigma=S' fixes a distance watershed,
 * 'seed=P' a probability watershed and 'contour=C' a contour watershed.
 */
export function parseSplitFlag(value: string | undefined): SplitSpec | null | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'none') return null;
  const m = /^h=([0-9.]+),sigma=([0-9.]+)(?:,core=([0-9.]+))?$/.exec(value);
  const p = /^seed=([0-9.]+)$/.exec(value);
  const c = /^contour=([0-9.]+)$/.exec(value);
  const spec: SplitSpec | null = m
    ? {
        method: 'distance-watershed',
        h: Number(m[1]),
        sigma: Number(m[2]),
        ...(m[3] !== undefined ? { core: Number(m[3]) } : {}),
      }
    : p
      ? { method: 'probability-watershed', seed: Number(p[1]) }
      : c
        ? { method: 'contour-watershed', core: Number(c[1]) }
        : null;
  if (!spec)
    throw new QuorumInputError(
      'invalid-value',
      '--split',
      `"${value}"; want auto, none, h=H,sigma=S[,core=C], seed=P or contour=C`,
    );
  checkSplitSpec(spec, '--split');
  return spec;
}

/** Refuses a fixed split the members cannot feed: a contour watershed needs members trained with --contour. */
export function checkSplitFlagFits(flag: SplitSpec | null | 'auto', architecture: UNetConfig): void {
  if (flag !== 'auto' && splitNeedsContour(flag ?? undefined) && !architecture.contour)
    throw new QuorumInputError(
      'invalid-value',
      '--split',
      'a contour watershed needs members with a contour output; train them with --contour',
    );
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

/** The `--min-area` flag: a whole number of pixels >= 0 fixes postprocess.minArea; absent leaves it to resolveSplit. */
export function parseMinAreaFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new QuorumInputError(
      'invalid-value',
      '--min-area',
      `"${value}"; want a whole number of pixels >= 0`,
    );
  return n;
}

export interface ResolvedPostprocess {
  split: SplitSpec | null;
  minArea: number;
  choice: SplitChoice | null;
  note: string;
}

/**
 * Resolves the flags into the split and minimum area the manifest records, logging (and for 'auto' saving) why.
 * `minArea` (from --min-area) fixes the minimum area; without it 'auto' chooses it together with the split on
 * out-of-fold predictions, and a fixed split keeps DEFAULT_MIN_AREA.
 */
export async function resolveSplit(
  flag: SplitSpec | null | 'auto',
  ctx: SplitContext,
  minArea?: number,
): Promise<ResolvedPostprocess> {
  if (flag !== 'auto') {
    const area = minArea ?? DEFAULT_MIN_AREA;
    const note =
      `Objects: ${describeSplit(flag)} (set with --split), ${describeMinArea(area)} ` +
      `(${minArea === undefined ? 'the default' : 'set with --min-area'}).`;
    ctx.log(note);
    return { split: flag, minArea: area, choice: null, note };
  }
  const samples = ctx.trainSamples();
  const loaded = await ctx.ensemble();
  let choice: SplitChoice;
  if ('unavailable' in loaded) choice = onTrainingMasks(samples, [], loaded.unavailable, ctx, minArea);
  else {
    try {
      choice = await onOutOfFold(samples, loaded, ctx, minArea);
    } finally {
      loaded.dispose();
    }
  }
  writeJsonAtomic(join(ctx.outDir, 'split-choice.json'), choice);
  const note = `Objects: ${describeSplit(choice.chosen)}, ${describeMinArea(choice.minArea)}, ${describeSource(choice)}`;
  ctx.log(note);
  return { split: choice.chosen, minArea: choice.minArea, choice, note };
}

async function onOutOfFold(
  samples: readonly LoadedSample[],
  ensemble: TrainedEnsemble,
  ctx: SplitContext,
  minArea: number | undefined,
): Promise<SplitChoice> {
  const plan = planOutOfFold(ensemble.records, samples);
  if (plan.images.length === 0)
    return onTrainingMasks(
      samples,
      plan.skipped,
      'every member trained on every training image',
      ctx,
      minArea,
    );
  const chosen = evenSample(plan.images, [
    { cost: (i) => pixels(i.sample), limit: ctx.maxPixels ?? MAX_TUNING_PIXELS },
    {
      cost: (i) => pixels(i.sample) * i.members.length,
      limit: ctx.maxOutOfFoldPixels ?? MAX_OUT_OF_FOLD_PIXELS,
    },
  ]);
  const evaluations = chosen.reduce((n, i) => n + pixels(i.sample) * i.members.length, 0);
  ctx.log(
    `choosing the object split${minArea === undefined ? ' and minimum area' : ''} on out-of-fold predictions: ` +
      `${chosen.length} training images, ${(evaluations / 1e6).toFixed(1)} member-megapixels`,
  );
  const images: TuningImage[] = [];
  for (const image of chosen)
    images.push({
      ...(await outOfFoldPrediction(ensemble.runner, ensemble.spec, image)),
      truth: truthLabels(image.sample),
    });
  const ids = (idx: number[]) => idx.map((m) => ensemble.records[m]!.id);
  return {
    source: 'out-of-fold predictions',
    ...chooseSplit(images, minArea === undefined ? MIN_AREA_CANDIDATES : [minArea]),
    minAreaFrom: minArea === undefined ? 'chosen' : '--min-area',
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
  minArea: number | undefined,
): SplitChoice {
  const chosen = evenSample(samples, [{ cost: pixels, limit: ctx.maxPixels ?? MAX_TUNING_PIXELS }]);
  return {
    source: 'training masks',
    fallback,
    // Not tuned here: the specks the area filter exists for are the model's, and a true mask has none, so every
    // filter would score alike or only lose real small nuclei and the smallest would always win. The default is
    // what a model's masks need when nothing has been measured on them.
    ...chooseSplit(chosen.map(trainingMaskImage), [minArea ?? DEFAULT_MIN_AREA]),
    minAreaFrom: minArea === undefined ? 'default' : '--min-area',
    images: chosen.length,
    imageIds: chosen.map((s) => s.id),
    skipped,
  };
}

export function describeMinArea(minArea: number): string {
  return minArea > 1 ? `objects under ${minArea} px dropped` : 'no object dropped for its size';
}

function describeSource(c: SplitChoice): string {
  const f1 = (split: SplitSpec | null, minArea: number) =>
    c.scores.find((s) => s.split === split && s.minArea === minArea)?.objectF1;
  const best = f1(c.chosen, c.minArea)!.toFixed(3);
  const none = f1(null, c.minArea)!.toFixed(3);
  const tail = `all candidates in split-choice.json).`;
  if (c.source === 'training masks')
    return (
      `chosen on the ${c.images} training masks alone, as no out-of-fold prediction was possible (${c.fallback}) ` +
      `(object F1 of the split binary masks against their instances: ${best}, connected components ${none}; ` +
      `minimum area ${c.minAreaFrom === 'default' ? 'the default, as true masks have no specks to tune it on' : 'set with --min-area'}; ${tail}`
    );
  const counts = Object.values(c.members ?? {}).map((m) => m.length);
  const range =
    Math.min(...counts) === Math.max(...counts)
      ? `${counts[0]}`
      : `${Math.min(...counts)} to ${Math.max(...counts)}`;
  const skipped = c.skipped.length
    ? `; ${c.skipped.length} training image(s) every member trained on were left out`
    : '';
  const atDefault = f1(c.chosen, DEFAULT_MIN_AREA);
  const versusDefault =
    c.minAreaFrom === 'chosen' && c.minArea !== DEFAULT_MIN_AREA && atDefault !== undefined
      ? `, the same split at the default ${DEFAULT_MIN_AREA} px ${atDefault.toFixed(3)}`
      : '';
  const what = c.minAreaFrom === 'chosen' ? 'both ' : '';
  return (
    `${what}chosen on out-of-fold ensemble predictions for ${c.images} training images (each the ${c.aggregation!.rule} ` +
    `of only the ${range} members that never trained on it${skipped}) (object F1 of the post-processed predicted ` +
    `masks against the true instances: ${best}, connected components at the same minimum area ${none}` +
    `${versusDefault}${c.minAreaFrom === '--min-area' ? '; minimum area set with --min-area' : ''}; ${tail}`
  );
}
