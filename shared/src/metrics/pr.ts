import { QuorumInputError } from '../errors';
import { checkSameSize, type Mask, type ProbabilityMap } from '../postprocess/map2d';

/**
 * The precision-recall curve, one point per distinct score, scores descending (recall ascending). Point k
 * predicts foreground where score >= thresholds[k] (inclusive, as scikit-learn's curve; `threshold()` is strict,
 * so `threshold(prob, t)` is the point with the smallest score above t). No artificial (recall 0, precision 1)
 * end point is added.
 */
export interface PrCurve {
  thresholds: Float64Array;
  precision: Float64Array;
  recall: Float64Array;
}

/** Scores of the positive and of the negative pixels, each sorted ascending. */
interface SortedScores {
  pos: Float32Array;
  neg: Float32Array;
}

/**
 * Splits scores by truth and sorts each part with the native typed-array sort: O(n log n), exact, no histogram,
 * and 4 bytes per pixel of extra memory.
 */
function sortedScores(prob: ProbabilityMap, truth: Mask): SortedScores {
  checkSameSize(truth, 'truth mask', prob, 'probability map');
  const s = prob.data;
  const t = truth.data;
  let positives = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== 0) positives++;
    if (Number.isNaN(s[i]))
      throw new QuorumInputError('invalid-value', 'probability map', `is NaN at pixel ${i}`);
  }
  const pos = new Float32Array(positives);
  const neg = new Float32Array(t.length - positives);
  for (let i = 0, a = 0, b = 0; i < t.length; i++) {
    if (t[i] !== 0) pos[a++] = s[i]!;
    else neg[b++] = s[i]!;
  }
  return { pos: pos.sort(), neg: neg.sort() };
}

/**
 * Visits each distinct score from the highest down, with the cumulative true and false positives at
 * "score >= it". Equal scores of both classes are one threshold. Returns the number of thresholds.
 */
function walk({ pos, neg }: SortedScores, visit: (score: number, tp: number, fp: number) => void): number {
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  let k = 0;
  while (i >= 0 || j >= 0) {
    const score = i < 0 ? neg[j]! : j < 0 ? pos[i]! : Math.max(pos[i]!, neg[j]!);
    // === treats -0 and +0 as one score, as a threshold comparison does.
    while (i >= 0 && pos[i] === score) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === score) {
      fp++;
      j--;
    }
    visit(score, tp, fp);
    k++;
  }
  return k;
}

/**
 * Average precision of the probability map as a pixel ranking, scikit-learn's `average_precision_score`
 * definition: AP = sum over thresholds of (R_k - R_{k-1}) * P_k, a step-wise sum over recall increments with
 * no interpolation (not the trapezoidal area, which is optimistic for PR curves). Pixels with equal scores form
 * one threshold. With no positive pixel in the truth AP is 0, as scikit-learn returns (it also warns).
 * Exact: sorted, not histogrammed. Scores may be any non-NaN numbers.
 */
export function prAuc(prob: ProbabilityMap, truth: Mask): number {
  const sorted = sortedScores(prob, truth);
  const positives = sorted.pos.length;
  if (positives === 0) return 0;
  // Sum dTP * precision and divide by P once: fewer roundings than summing dR * P.
  let sum = 0;
  let prev = 0;
  walk(sorted, (_, tp, fp) => {
    if (tp > prev) sum += ((tp - prev) * tp) / (tp + fp);
    prev = tp;
  });
  return sum / positives;
}

export interface PrCurveOptions {
  /** Keep at most this many points (evenly spaced by index, first and last kept) for plotting. */
  maxPoints?: number;
}

/**
 * The PR curve (see `PrCurve`). Precision tp / (tp + fp) is always defined, as every point predicts at least
 * one pixel; recall is tp / positives, and 0 everywhere when the truth has no positives.
 */
export function prCurve(prob: ProbabilityMap, truth: Mask, options: PrCurveOptions = {}): PrCurve {
  const max = options.maxPoints;
  if (max !== undefined && (!Number.isInteger(max) || max < 2)) {
    throw new QuorumInputError('invalid-value', 'maxPoints', `is ${max}; want an integer >= 2`);
  }
  const sorted = sortedScores(prob, truth);
  const positives = sorted.pos.length;
  const n = walk(sorted, () => {});
  const m = Math.min(n, max ?? n);
  const curve = {
    thresholds: new Float64Array(m),
    precision: new Float64Array(m),
    recall: new Float64Array(m),
  };
  // Point q of the output is step round(q * (n - 1) / (m - 1)) of the full curve.
  let k = 0;
  let q = 0;
  walk(sorted, (score, tp, fp) => {
    if (q < m && k === (m === n ? q : Math.round((q * (n - 1)) / (m - 1)))) {
      curve.thresholds[q] = score;
      curve.precision[q] = tp / (tp + fp);
      curve.recall[q] = positives > 0 ? tp / positives : 0;
      q++;
    }
    k++;
  });
  return curve;
}
