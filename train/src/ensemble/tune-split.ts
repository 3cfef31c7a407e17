import { join } from 'node:path';
import {
  checkSplitSpec,
  fillHoles,
  labelComponents,
  objectScores,
  QuorumInputError,
  type SplitSpec,
  splitTouching,
} from '@quorum/shared';
import type { LoadedSample } from '../data/dataset';
import { truthLabels } from '../evaluate/evaluate';
import { writeJsonAtomic } from '../store/files';

/**
 * Chooses how post-processing separates touching objects, from the training split's ground truth alone: each
 * candidate splits the *binary* training masks, and is scored by object F1 (IoU 0.5) against the true instances.
 * No model and no test image is involved, so the choice cannot leak the test split; a dataset whose objects do
 * not touch (or whose masks are binary) keeps plain connected components.
 */
export const SPLIT_CANDIDATES: readonly SplitSpec[] = [0, 1, 1.5, 2].flatMap((sigma) =>
  [0.5, 1, 2].map((h) => ({ method: 'distance-watershed' as const, h, sigma })),
);

/** A candidate must beat connected components by this much mean object F1 to be worth its cost. */
export const MIN_SPLIT_GAIN = 0.005;

/**
 * Pixels of training masks the choice looks at, at most: each candidate splits every chosen mask (about 0.7 s per
 * megapixel here), so a large dataset is sampled rather than making export take many minutes.
 */
export const MAX_TUNING_PIXELS = 16_000_000;

export interface SplitChoice {
  chosen: SplitSpec | null;
  /** Mean object F1 over the training images, per candidate (null = connected components). */
  scores: { split: SplitSpec | null; objectF1: number }[];
  /** Training images scored (all of them, or an even sample within MAX_TUNING_PIXELS). */
  images: number;
}

export function chooseSplit(
  all: readonly LoadedSample[],
  maxPixels: number = MAX_TUNING_PIXELS,
): SplitChoice {
  const samples = withinBudget(all, maxPixels);
  const masks = samples.map((s) => fillHoles({ width: s.width, height: s.height, data: s.mask }));
  const truths = samples.map(truthLabels);
  const meanF1 = (label: (i: number) => ReturnType<typeof labelComponents>) =>
    samples.length === 0
      ? 0
      : samples.reduce((acc, _, i) => acc + objectScores(label(i).labels, truths[i]!, 0.5).f1, 0) /
        samples.length;
  const scores: SplitChoice['scores'] = [
    { split: null, objectF1: meanF1((i) => labelComponents(masks[i]!, 8)) },
  ];
  for (const split of SPLIT_CANDIDATES)
    scores.push({ split, objectF1: meanF1((i) => splitTouching(masks[i]!, split)) });
  const best = scores.slice(1).reduce((a, b) => (b.objectF1 > a.objectF1 ? b : a));
  const chosen = best.objectF1 > scores[0]!.objectF1 + MIN_SPLIT_GAIN ? best.split : null;
  return { chosen, scores, images: samples.length };
}

/** Every k-th sample (k the smallest that fits the budget), so all parts of the dataset are represented. */
function withinBudget(samples: readonly LoadedSample[], pixels: number): readonly LoadedSample[] {
  const total = samples.reduce((n, s) => n + s.width * s.height, 0);
  if (total <= pixels) return samples;
  const k = Math.ceil(total / pixels);
  return samples.filter((_, i) => i % k === 0);
}

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

/** Resolves the flag's value into the spec the manifest records, logging (and for 'auto' saving) why. */
export function resolveSplit(
  flag: SplitSpec | null | 'auto',
  trainSamples: () => LoadedSample[],
  outDir: string,
  log: (s: string) => void,
): { split: SplitSpec | null; note: string } {
  if (flag !== 'auto') {
    const note = `Objects: ${describeSplit(flag)} (set with --split).`;
    log(note);
    return { split: flag, note };
  }
  const choice = chooseSplit(trainSamples());
  writeJsonAtomic(join(outDir, 'split-choice.json'), choice);
  const none = choice.scores[0]!.objectF1;
  const best = choice.scores.find((s) => s.split === choice.chosen)!.objectF1;
  const note =
    `Objects: ${describeSplit(choice.chosen)}, chosen on the ${choice.images} training masks alone ` +
    `(object F1 of the split binary masks against their instances: ${best.toFixed(3)}, connected components ` +
    `${none.toFixed(3)}; all candidates in split-choice.json).`;
  log(note);
  return { split: choice.chosen, note };
}
