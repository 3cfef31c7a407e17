import { checkSameSize, type Mask } from '../postprocess/map2d';

export interface PixelCounts {
  /** Foreground in both. */
  tp: number;
  /** Foreground in the prediction only. */
  fp: number;
  /** Foreground in the truth only. */
  fn: number;
  /** Background in both. */
  tn: number;
}

/**
 * Pixel-level agreement of a predicted mask with the truth.
 *
 * Conventions for empty cases (a ratio whose denominator is 0): the score is 1 when prediction and truth agree
 * that there is nothing (both empty) and 0 otherwise. So dice = iou = precision = recall = 1 when both masks are
 * empty; with an empty prediction and a non-empty truth, precision is 0 (not the vacuous 1) like recall; with a
 * non-empty prediction and an empty truth, recall is 0 like precision. A score is 1 only for perfect agreement,
 * and dice = 2 * iou / (1 + iou) holds in every case.
 */
export interface PixelScores extends PixelCounts {
  /** 2tp / (2tp + fp + fn) (the F1 score of the pixels). */
  dice: number;
  /** Jaccard index: tp / (tp + fp + fn). */
  iou: number;
  /** tp / (tp + fp). */
  precision: number;
  /** tp / (tp + fn). */
  recall: number;
}

/** Scores two masks of the same size; any nonzero byte is foreground. */
export function pixelScores(pred: Mask, truth: Mask): PixelScores {
  checkSameSize(truth, 'truth mask', pred, 'predicted mask');
  const p = pred.data;
  const t = truth.data;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] !== 0) {
      if (t[i] !== 0) tp++;
      else fp++;
    } else if (t[i] !== 0) {
      fn++;
    }
  }
  return pixelScoresFromCounts({ tp, fp, fn, tn: p.length - tp - fp - fn });
}

/** The scores of given counts (e.g. counts summed over images), with the empty-case conventions above. */
export function pixelScoresFromCounts(c: PixelCounts): PixelScores {
  const { tp, fp, fn, tn } = c;
  const agreeEmpty = tp + fp + fn === 0;
  return {
    tp,
    fp,
    fn,
    tn,
    dice: ratio(2 * tp, 2 * tp + fp + fn, agreeEmpty),
    iou: ratio(tp, tp + fp + fn, agreeEmpty),
    precision: ratio(tp, tp + fp, agreeEmpty),
    recall: ratio(tp, tp + fn, agreeEmpty),
  };
}

/** a / b, and for b = 0: 1 when both sides agree there is nothing to find, else 0. */
export function ratio(a: number, b: number, agreeEmpty: boolean): number {
  if (b > 0) return a / b;
  return agreeEmpty ? 1 : 0;
}
