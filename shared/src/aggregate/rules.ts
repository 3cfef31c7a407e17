import type { AggregationRule } from '../manifest/schema';
import type { MemberStatistics } from './statistics';

/**
 * The final mask and uncertainty from member statistics.
 * - mean:  mean probability > threshold.
 * - vote:  strict weighted majority of members above threshold (vote fraction > 0.5; a tie is background).
 * - union: any member above threshold (the paper's rule: members thresholded at 0.5 and OR-ed).
 * The probability map reported alongside is the mean for 'mean', the vote fraction for 'vote' and the max for
 * 'union', so that thresholding it reproduces the mask.
 */
export interface Aggregated {
  mask: Uint8Array;
  probability: Float32Array;
  uncertainty: UncertaintyMaps;
}

export interface UncertaintyMaps {
  /** Standard deviation of member probabilities (0 to 0.5). */
  std: Float32Array;
  /** 1 when members split evenly about the threshold, 0 when unanimous: 1 - |2*vote - 1|. */
  disagreement: Float32Array;
  /** Binary entropy of the mean probability, in bits (0 to 1). */
  entropy: Float32Array;
}

export function binaryEntropy(p: number): number {
  if (p <= 0 || p >= 1) return 0;
  return -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

/**
 * The std map is computed here (post-processing measures each object's mean uncertainty with it); the mask, the
 * disagreement and the entropy maps on first read (the pipeline re-thresholds the probability map it post-processes,
 * and the entropy's two logarithms per pixel were a tenth of a second per 4 megapixels that nothing read).
 */
export function aggregate(stats: MemberStatistics, rule: AggregationRule, threshold: number): Aggregated {
  const n = stats.mean.length;
  const probability = rule === 'mean' ? stats.mean : rule === 'vote' ? stats.vote : stats.max;
  const cut = rule === 'vote' ? 0.5 : threshold;
  const { mean, meanSquare, vote } = stats;
  const std = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const m = mean[i]!;
    std[i] = Math.sqrt(Math.max(0, meanSquare[i]! - m * m));
  }
  const uncertainty = { std } as UncertaintyMaps;
  lazy(uncertainty, 'disagreement', () => {
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = 1 - Math.abs(2 * vote[i]! - 1);
    return d;
  });
  lazy(uncertainty, 'entropy', () => {
    const e = new Float32Array(n);
    for (let i = 0; i < n; i++) e[i] = binaryEntropy(mean[i]!);
    return e;
  });
  const out = { probability, uncertainty } as Aggregated;
  lazy(out, 'mask', () => {
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) mask[i] = probability[i]! > cut ? 1 : 0;
    return mask;
  });
  return out;
}

/** Defines `key` on `target` as an enumerable property computed by `make` on first read, then kept. */
function lazy<T extends object, K extends keyof T>(target: T, key: K, make: () => T[K]): void {
  let value: T[K] | undefined;
  Object.defineProperty(target, key, {
    enumerable: true,
    get: () => {
      value ??= make();
      return value;
    },
  });
}
