import { QuorumInputError } from '../errors';
import { wasmMemberStatistics } from './statistics-wasm';

/**
 * Per-pixel statistics of the members' probabilities. They are linear in the members' outputs, so they can be
 * computed per tile and blended like any other tile output, and the final maps need memory independent of the
 * number of members: mean, mean of squares (for the std), weighted vote fraction, and the max (for the union).
 */
export interface MemberStatistics {
  mean: Float32Array;
  meanSquare: Float32Array;
  /** Weighted fraction of members whose probability exceeds the threshold. */
  vote: Float32Array;
  /** Largest member probability: the union of thresholded members is `max > threshold`. */
  max: Float32Array;
}

export const STATISTIC_CHANNELS = ['mean', 'meanSquare', 'vote', 'max'] as const;

/** Normalised member weights; equal weights when none are given. */
export function normalizeWeights(count: number, weights?: readonly number[]): Float64Array {
  if (count < 1) throw new QuorumInputError('too-few', 'ensemble', 'has no members');
  const w = new Float64Array(count).fill(1);
  if (weights) {
    if (weights.length !== count) {
      throw new QuorumInputError(
        'mismatch',
        'aggregation.weights',
        `${weights.length} weights for ${count} members`,
      );
    }
    weights.forEach((v, i) => {
      if (!(v >= 0) || !Number.isFinite(v))
        throw new QuorumInputError('invalid-value', `aggregation.weights[${i}]`, `${v}`);
      w[i] = v;
    });
  }
  const total = w.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new QuorumInputError('invalid-value', 'aggregation.weights', 'all weights are zero');
  return w.map((v) => v / total);
}

/**
 * Weights that give every mode the same total say, split equally among its members (per-mode grouping): a mode
 * with many folds does not outvote a mode with few.
 */
export function perModeWeights(modes: readonly string[]): number[] {
  const counts = new Map<string, number>();
  for (const m of modes) counts.set(m, (counts.get(m) ?? 0) + 1);
  return modes.map((m) => 1 / (counts.size * counts.get(m)!));
}

/** Combine member probability maps (all the same length) into statistics. `out` buffers may be reused. */
export function memberStatistics(
  members: readonly Float32Array[],
  threshold: number,
  weights?: readonly number[],
  out?: MemberStatistics,
): MemberStatistics {
  const w = normalizeWeights(members.length, weights);
  const n = members[0]!.length;
  for (const [i, m] of members.entries()) {
    if (m.length !== n)
      throw new QuorumInputError('mismatch', `member ${i}`, `output has ${m.length} pixels, expected ${n}`);
  }
  const stats = out ?? {
    mean: new Float32Array(n),
    meanSquare: new Float32Array(n),
    vote: new Float32Array(n),
    max: new Float32Array(n),
  };
  // The WebAssembly module where the runtime has it (the same bits, ~15x faster); else the JS loop below.
  if (wasmMemberStatistics(members, threshold, w, stats)) return stats;
  // Member by member into float64 sums (each pixel's sums still run in member order, rounded to float32 once):
  // plain loops over typed arrays, a quarter faster than pixel by pixel over the member list.
  if (scratch.length < 4 * n) scratch = new Float64Array(4 * n);
  const mean = scratch.subarray(0, n).fill(0);
  const sq = scratch.subarray(n, 2 * n).fill(0);
  const vote = scratch.subarray(2 * n, 3 * n).fill(0);
  const max = scratch.subarray(3 * n, 4 * n).fill(0);
  for (let m = 0; m < members.length; m++) {
    const v = members[m]!;
    const wm = w[m]!;
    for (let p = 0; p < n; p++) {
      const x = v[p]!;
      mean[p]! += wm * x;
      sq[p]! += wm * x * x;
      if (x > threshold) vote[p]! += wm;
      if (x > max[p]!) max[p] = x;
    }
  }
  stats.mean.set(mean);
  stats.meanSquare.set(sq);
  stats.vote.set(vote);
  stats.max.set(max);
  return stats;
}

/** memberStatistics's float64 sums, reused across calls (it runs once per tile). */
let scratch = new Float64Array(0);

export function statisticsToChannels(s: MemberStatistics): Float32Array[] {
  return [s.mean, s.meanSquare, s.vote, s.max];
}

export function channelsToStatistics(c: readonly Float32Array[]): MemberStatistics {
  const [mean, meanSquare, vote, max] = c as [Float32Array, Float32Array, Float32Array, Float32Array];
  return { mean, meanSquare, vote, max };
}
