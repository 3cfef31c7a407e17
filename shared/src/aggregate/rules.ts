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

export function aggregate(stats: MemberStatistics, rule: AggregationRule, threshold: number): Aggregated {
  const n = stats.mean.length;
  const mask = new Uint8Array(n);
  const std = new Float32Array(n);
  const disagreement = new Float32Array(n);
  const entropy = new Float32Array(n);
  const probability = rule === 'mean' ? stats.mean : rule === 'vote' ? stats.vote : stats.max;
  const cut = rule === 'vote' ? 0.5 : threshold;
  for (let i = 0; i < n; i++) {
    mask[i] = probability[i]! > cut ? 1 : 0;
    const m = stats.mean[i]!;
    std[i] = Math.sqrt(Math.max(0, stats.meanSquare[i]! - m * m));
    disagreement[i] = 1 - Math.abs(2 * stats.vote[i]! - 1);
    entropy[i] = binaryEntropy(m);
  }
  return { mask, probability, uncertainty: { std, disagreement, entropy } };
}
