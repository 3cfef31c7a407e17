import {
  type AggregateScores,
  type AggregationRule,
  aggregateScores,
  classifyObjects,
  countObjectErrors,
  type EnsembleRunner,
  type ImageScores,
  type LabelImage32,
  labelComponents,
  type ObjectClasses,
  pixelScores,
  prAuc,
  type SegmentationSpec,
  segmentImage,
} from '@quorum/shared';
import type { LoadedSample } from '../data/dataset';

/**
 * Scores of an ensemble (or a single model: an ensemble of one) on labelled images, through the product's own
 * segmentation path: pixel Dice/IoU on the post-processed mask, object F1 at IoU 0.5 against the instance labels,
 * and PR-AUC of the probability map.
 */
export interface EvaluatedImage {
  id: string;
  mode: string;
  scores: ImageScores;
}

export interface Evaluation {
  overall: AggregateScores;
  perMode: Record<string, AggregateScores>;
  images: EvaluatedImage[];
}

export interface EvaluateOptions {
  rule?: AggregationRule;
  tta?: boolean;
  perModeWeighting?: boolean;
  /** Called per image with its segmentation and what was measured of it, e.g. to draw figures. */
  onImage?: (
    sample: LoadedSample,
    seg: Awaited<ReturnType<typeof segmentImage>>,
    measured: MeasuredImage,
  ) => void;
}

/** One image's scores with the true objects and their classes they came from (figures draw them). */
export interface MeasuredImage {
  scores: ImageScores;
  truth: LabelImage32;
  classes: ObjectClasses;
}

/** A sample's ground-truth objects: its instance labels, or the connected components of a binary mask. */
export function truthLabels(s: LoadedSample) {
  let max = 0;
  for (const v of s.labels) if (v > max) max = v;
  // A binary mask (max label 1) holds many nuclei: its connected components are the objects.
  if (max <= 1) return labelComponents({ width: s.width, height: s.height, data: s.mask }, 8).labels;
  return { width: s.width, height: s.height, data: s.labels };
}

export async function evaluate(
  runner: EnsembleRunner,
  spec: SegmentationSpec,
  samples: readonly LoadedSample[],
  modeOf: (id: string) => string,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const images: EvaluatedImage[] = [];
  for (const s of samples) {
    const seg = await segmentImage(s.raw, spec, runner, {
      ...(options.rule ? { rule: options.rule } : {}),
      ...(options.tta !== undefined ? { tta: options.tta } : {}),
      ...(options.perModeWeighting !== undefined ? { perModeWeighting: options.perModeWeighting } : {}),
    });
    const truth = { width: s.width, height: s.height, data: s.mask };
    // One matching gives both the F1's counts and the error classes.
    const truthObjects = truthLabels(s);
    const classes = classifyObjects(seg.labels, truthObjects, 0.5);
    const errors = countObjectErrors(classes);
    const scores: ImageScores = {
      pixel: pixelScores(seg.mask, truth),
      objects: {
        tp: errors.matched,
        fp: errors.predicted - errors.matched,
        fn: errors.truth - errors.matched,
      },
      errors,
      averagePrecision: prAuc({ width: s.width, height: s.height, data: seg.probability }, truth),
    };
    options.onImage?.(s, seg, { scores, truth: truthObjects, classes });
    images.push({ id: s.id, mode: modeOf(s.id), scores });
  }
  const perMode: Record<string, AggregateScores> = {};
  for (const mode of [...new Set(images.map((i) => i.mode))].sort()) {
    perMode[mode] = aggregateScores(images.filter((i) => i.mode === mode).map((i) => i.scores));
  }
  return { overall: aggregateScores(images.map((i) => i.scores)), perMode, images };
}

/** The four headline numbers (mean over images) in the manifest's `metrics` shape. */
export function headline(e: Evaluation, split: string) {
  const m = e.overall.mean;
  return {
    split,
    images: e.overall.images,
    dice: m.dice.mean,
    iou: m.iou.mean,
    objectF1: m.objectF1?.mean ?? 0,
    prAuc: m.averagePrecision?.mean ?? 0,
  };
}
