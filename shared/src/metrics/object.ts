import { QuorumInputError } from '../errors';
import { indexLabels, type LabelIndex } from '../postprocess/label-index';
import { checkSameSize, type LabelImage } from '../postprocess/map2d';
import { type Overlap, overlaps } from './overlaps';
import { ratio } from './pixel';

export interface ObjectMatch {
  /** Predicted object id. */
  pred: number;
  /** Ground-truth object id. */
  truth: number;
  iou: number;
}

export interface ObjectCounts {
  /** Matched pairs. */
  tp: number;
  /** Predicted objects without a match. */
  fp: number;
  /** Ground-truth objects without a match. */
  fn: number;
}

/** Rates from counts, with the pixel scores' empty-case convention: 1 when both sides have no objects, else 0. */
export interface ObjectRates extends ObjectCounts {
  precision: number;
  recall: number;
  /** 2tp / (2tp + fp + fn). */
  f1: number;
}

export interface ObjectScores extends ObjectRates {
  /** The one-to-one matches, ascending by predicted id. */
  matches: ObjectMatch[];
}

/**
 * Object-level detection scores: a predicted and a true object match when their IoU is strictly greater than
 * `iouThreshold`, one to one. Matching is greedy by descending IoU (ties by predicted id, then true id): take
 * the best remaining pair whose objects are both still free. For thresholds >= 0.5 every object has at most one
 * candidate (two objects with IoU > 0.5 to the same object would have to share more than half of it each), so
 * greedy equals optimal matching there; below 0.5 greedy is a documented approximation.
 *
 * IoUs come from a sparse table of overlapping (pred, truth) pairs built in one pass over the pixels, so the cost
 * is O(pixels + overlapping pairs log pairs), whatever the number of objects. An object is a label id.
 */
export function objectScores(pred: LabelImage, truth: LabelImage, iouThreshold = 0.5): ObjectScores {
  const { p, t, matched } = matchObjects(pred, truth, iouThreshold);
  const matches = matched.map((m) => ({ pred: p.ids[m.ps]!, truth: t.ids[m.ts]!, iou: m.iou }));
  matches.sort((a, b) => a.pred - b.pred);
  const tp = matches.length;
  return { ...objectRates({ tp, fp: p.ids.length - tp, fn: t.ids.length - tp }), matches };
}

/** The one-to-one matching of objectScores by label slots, with the indexes and overlaps it was computed from. */
export interface SlotMatching {
  p: LabelIndex;
  t: LabelIndex;
  pairs: Overlap[];
  /** Matched (pred slot, truth slot) pairs, in matching order. */
  matched: { ps: number; ts: number; iou: number }[];
}

export function matchObjects(pred: LabelImage, truth: LabelImage, iouThreshold: number): SlotMatching {
  checkSameSize(truth, 'truth labels', pred, 'predicted labels');
  if (!(iouThreshold >= 0 && iouThreshold <= 1)) {
    throw new QuorumInputError(
      'invalid-value',
      'iouThreshold',
      `is ${iouThreshold}; want a number in [0, 1]`,
    );
  }
  const p = indexLabels(pred.data);
  const t = indexLabels(truth.data);
  const pairs = overlaps(p.slots, t.slots, p.ids.length, t.ids.length);
  const candidates = pairs
    .map(({ ps, ts, inter }) => ({
      ps,
      ts,
      iou: inter / (p.areas[ps]! + t.areas[ts]! - inter),
    }))
    .filter((c) => c.iou > iouThreshold)
    // Slots ascend with ids, so ties break by predicted id, then true id.
    .sort((a, b) => b.iou - a.iou || a.ps - b.ps || a.ts - b.ts);
  const predTaken = new Uint8Array(p.ids.length);
  const truthTaken = new Uint8Array(t.ids.length);
  const matched: SlotMatching['matched'] = [];
  for (const c of candidates) {
    if (predTaken[c.ps] || truthTaken[c.ts]) continue;
    predTaken[c.ps] = 1;
    truthTaken[c.ts] = 1;
    matched.push(c);
  }
  return { p, t, pairs, matched };
}

export function objectRates(c: ObjectCounts): ObjectRates {
  const { tp, fp, fn } = c;
  const agreeEmpty = tp + fp + fn === 0;
  return {
    tp,
    fp,
    fn,
    precision: ratio(tp, tp + fp, agreeEmpty),
    recall: ratio(tp, tp + fn, agreeEmpty),
    f1: ratio(2 * tp, 2 * tp + fp + fn, agreeEmpty),
  };
}
