import type { LabelImage } from '../postprocess/map2d';
import { matchObjects } from './object';

/**
 * Why object F1 is what it is: every true object is matched or falls in exactly one failure class, and every
 * unmatched predicted object is spurious or not. A researcher reads from it what would help (merges: better
 * separation of touching objects; misses: sensitivity; misfits: boundaries), which the F1 alone cannot say.
 *
 * An unmatched true object (no predicted object with IoU above the threshold) is, in this order:
 * - `missed`: less than half of its pixels are predicted foreground;
 * - `merged`: its largest predicted part is also the largest predicted part of another true object (one at least
 *   half covered too);
 * - `split`: no predicted object holds half of its pixels (it is covered, but in pieces);
 * - `misfit`: one predicted object holds at least half of it and is the largest part of no other, but their
 *   outlines differ too much.
 * An unmatched predicted object is `spurious` when less than half of its pixels lie on true objects; the other
 * unmatched predictions are the pieces and merged blobs the true objects' classes already count.
 */
export interface ObjectErrors {
  /** True objects. */
  truth: number;
  /** True objects with a match (the F1's tp). */
  matched: number;
  merged: number;
  split: number;
  missed: number;
  misfit: number;
  /** Predicted objects. */
  predicted: number;
  /** Unmatched predicted objects mostly on true background. */
  spurious: number;
}

export const NO_OBJECT_ERRORS: Readonly<ObjectErrors> = {
  truth: 0,
  matched: 0,
  merged: 0,
  split: 0,
  missed: 0,
  misfit: 0,
  predicted: 0,
  spurious: 0,
};

/** The class of one true object (see ObjectErrors). */
export type TruthClass = 'matched' | 'merged' | 'split' | 'missed' | 'misfit';

export interface ObjectClasses {
  /** Every true object's id and class, ascending by id. */
  truth: { id: number; class: TruthClass }[];
  /** Every predicted object's id, ascending. */
  predicted: number[];
  /** Ids of the spurious predicted objects, ascending. */
  spurious: number[];
}

/** Counts of each class (the report's table). */
export function objectErrors(pred: LabelImage, truth: LabelImage, iouThreshold = 0.5): ObjectErrors {
  return countObjectErrors(classifyObjects(pred, truth, iouThreshold));
}

/** The counts of a classification (for callers that also need the classes themselves). */
export function countObjectErrors(c: ObjectClasses): ObjectErrors {
  const e: ObjectErrors = { ...NO_OBJECT_ERRORS, truth: c.truth.length, predicted: c.predicted.length };
  for (const t of c.truth) e[t.class]++;
  e.spurious = c.spurious.length;
  return e;
}

/** Which class each true object falls in and which predictions are spurious (the report's figures colour them). */
export function classifyObjects(pred: LabelImage, truth: LabelImage, iouThreshold = 0.5): ObjectClasses {
  const { p, t, pairs, matched } = matchObjects(pred, truth, iouThreshold);
  // Per true object: predicted pixels on it and the predicted object holding most of them (ties: lower slot).
  const covered = new Float64Array(t.ids.length);
  const host = new Int32Array(t.ids.length).fill(-1);
  const hostInter = new Float64Array(t.ids.length);
  // Per predicted object: its pixels on true objects, and how many true objects it hosts.
  const onTruth = new Float64Array(p.ids.length);
  const hosted = new Int32Array(p.ids.length);
  for (const { ps, ts, inter } of pairs) {
    covered[ts]! += inter;
    onTruth[ps]! += inter;
    if (inter > hostInter[ts]! || (inter === hostInter[ts]! && ps < host[ts]!)) {
      host[ts] = ps;
      hostInter[ts] = inter;
    }
  }
  // Only true objects at least half covered count as hosted: a blob that grazes a missed one merged nothing.
  host.forEach((h, k) => {
    if (h >= 0 && covered[k]! >= t.areas[k]! / 2) hosted[h]!++;
  });
  const matchedTruth = new Uint8Array(t.ids.length);
  const matchedPred = new Uint8Array(p.ids.length);
  for (const m of matched) {
    matchedTruth[m.ts] = 1;
    matchedPred[m.ps] = 1;
  }
  const classOf = (k: number): TruthClass => {
    const area = t.areas[k]!;
    if (matchedTruth[k]) return 'matched';
    if (covered[k]! < area / 2) return 'missed';
    if (hosted[host[k]!]! >= 2) return 'merged';
    if (hostInter[k]! < area / 2) return 'split';
    return 'misfit';
  };
  return {
    truth: Array.from(t.ids, (id, k) => ({ id, class: classOf(k) })),
    predicted: Array.from(p.ids),
    spurious: Array.from(p.ids).filter((_, k) => !matchedPred[k] && onTruth[k]! < p.areas[k]! / 2),
  };
}

/** Counts summed over images. */
export function sumObjectErrors(all: readonly ObjectErrors[]): ObjectErrors {
  const sum = { ...NO_OBJECT_ERRORS };
  for (const e of all) for (const k of Object.keys(sum) as (keyof ObjectErrors)[]) sum[k] += e[k];
  return sum;
}
