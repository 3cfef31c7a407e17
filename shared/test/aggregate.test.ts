import { describe, expect, it } from 'vitest';
import { aggregate, binaryEntropy, memberStatistics, perModeWeights } from '../src/aggregate';
import { wasmMemberStatistics } from '../src/aggregate/statistics-wasm';
import { setPipelineKernels } from '../src/wasm/pipeline';

const f = (...v: number[]) => Float32Array.from(v);

describe('aggregation', () => {
  // Three members, four pixels.
  const members = [f(0.9, 0.6, 0.2, 0.4), f(0.8, 0.3, 0.1, 0.45), f(0.7, 0.2, 0.6, 0.45)];
  const stats = memberStatistics(members, 0.5);

  it('computes mean, vote fraction and max per pixel', () => {
    expect(Array.from(stats.mean)).toEqual(Array.from(f(0.8, 1.1 / 3, 0.3, 1.3 / 3)));
    expect(Array.from(stats.vote).map((v) => +v.toFixed(6))).toEqual([1, 0.333333, 0.333333, 0]);
    expect(Array.from(stats.max)).toEqual(Array.from(f(0.9, 0.6, 0.6, 0.45)));
  });

  it('applies the mean, majority-vote and union (paper) rules', () => {
    expect(Array.from(aggregate(stats, 'mean', 0.5).mask)).toEqual([1, 0, 0, 0]);
    expect(Array.from(aggregate(stats, 'vote', 0.5).mask)).toEqual([1, 0, 0, 0]);
    expect(Array.from(aggregate(stats, 'union', 0.5).mask)).toEqual([1, 1, 1, 0]);
    // Union is the OR of thresholded members, checked directly.
    const or = members[0]!.map((_, p) => (members.some((m) => m[p]! > 0.5) ? 1 : 0));
    expect(Array.from(aggregate(stats, 'union', 0.5).mask)).toEqual(Array.from(or));
  });

  it('computes uncertainty: std, vote disagreement and entropy of the mean', () => {
    const u = aggregate(stats, 'mean', 0.5).uncertainty;
    // pixel 0: values 0.9, 0.8, 0.7 -> population std sqrt(0.02/3)
    expect(u.std[0]).toBeCloseTo(Math.sqrt(0.02 / 3), 5);
    expect(u.disagreement[0]).toBeCloseTo(0, 6); // unanimous
    expect(u.disagreement[1]).toBeCloseTo(2 / 3, 5); // 1 - |2/3 - 1|
    expect(u.entropy[0]).toBeCloseTo(-(0.8 * Math.log2(0.8) + 0.2 * Math.log2(0.2)), 5);
    expect(binaryEntropy(0.5)).toBe(1);
    expect(binaryEntropy(0)).toBe(0);
    // Computed on first read, then the same array; listed like plain properties (spreads and copies see them).
    expect(u.entropy).toBe(u.entropy);
    expect(Object.keys(u).sort()).toEqual(['disagreement', 'entropy', 'std']);
    expect({ ...u }.disagreement).toBe(u.disagreement);
  });

  it('honours member weights, and per-mode grouping gives each mode an equal say', () => {
    const weighted = memberStatistics(members, 0.5, [0, 0, 1]);
    expect(Array.from(aggregate(weighted, 'vote', 0.5).mask)).toEqual([1, 0, 1, 0]);
    // Two members of mode A, one of mode B: B's member gets weight 1/2, A's 1/4 each.
    expect(perModeWeights(['A', 'A', 'B'])).toEqual([0.25, 0.25, 0.5]);
    const grouped = memberStatistics(members, 0.5, perModeWeights(['A', 'A', 'B']));
    expect(grouped.mean[2]).toBeCloseTo(0.25 * 0.2 + 0.25 * 0.1 + 0.5 * 0.6, 6);
  });

  it('rejects mismatched outputs and bad weights', () => {
    expect(() => memberStatistics([f(1, 2), f(1)], 0.5)).toThrow(/member 1: output has 1 pixels, expected 2/);
    expect(() => memberStatistics(members, 0.5, [1, 1])).toThrow(
      /aggregation\.weights: 2 weights for 3 members/,
    );
    expect(() => memberStatistics(members, 0.5, [0, 0, 0])).toThrow(/all weights are zero/);
  });
});

describe('member statistics in WebAssembly', () => {
  // A fixed pseudo-random stream, so a failure reproduces.
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const maps = (m: number, n: number) =>
    Array.from({ length: m }, () =>
      // Exact 0, 1 and threshold values among the random ones: the comparisons' edge cases.
      Float32Array.from({ length: n }, () =>
        rnd() < 0.15 ? [0, 1, 0.5, 0.3][Math.floor(rnd() * 4)]! : rnd(),
      ),
    );

  it('runs in this runtime and gives the JS loop’s results to the bit (any count, odd sizes, weights)', () => {
    const probe = maps(2, 3);
    expect(wasmMemberStatistics(probe, 0.5, Float64Array.of(0.5, 0.5), memberStatistics(probe, 0.5))).toBe(
      true,
    );
    for (let trial = 0; trial < 200; trial++) {
      const m = 1 + Math.floor(rnd() * 13);
      const n = 1 + Math.floor(rnd() * 257);
      const members = maps(m, n);
      const weights = trial % 2 ? Array.from({ length: m }, () => rnd()) : undefined;
      const threshold = [0.5, 0.3, rnd()][trial % 3]!;
      setPipelineKernels('js');
      const js = memberStatistics(members, threshold, weights);
      setPipelineKernels('auto');
      const fast = memberStatistics(members, threshold, weights);
      for (const k of ['mean', 'meanSquare', 'vote', 'max'] as const) {
        expect(Array.from(fast[k], (v) => (Object.is(v, -0) ? 'neg0' : v))).toEqual(
          Array.from(js[k], (v) => (Object.is(v, -0) ? 'neg0' : v)),
        );
      }
    }
  });

  it('grows its memory for large tiles and keeps working after it', () => {
    const members = maps(12, 256 * 256);
    setPipelineKernels('js');
    const js = memberStatistics(members, 0.5);
    setPipelineKernels('auto');
    const fast = memberStatistics(members, 0.5);
    expect(fast.mean).toEqual(js.mean);
    expect(fast.max).toEqual(js.max);
    const small = maps(3, 5);
    const smallFast = memberStatistics(small, 0.5).vote;
    setPipelineKernels('js');
    expect(smallFast).toEqual(memberStatistics(small, 0.5).vote);
    setPipelineKernels('auto');
  });
});
