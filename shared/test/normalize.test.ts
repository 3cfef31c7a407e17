import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuorumInputError } from '../src/errors';
import { applyRange, normalizePercentile, percentileRange } from '../src/normalize';

/** numpy.percentile(values, q) with the default linear method, written out independently. */
function numpyPercentile(values: number[], q: number): number {
  const s = values.slice().sort((a, b) => a - b);
  const pos = (q / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

describe('percentile normalisation', () => {
  it('matches numpy.percentile on a hand-checked case', () => {
    // sorted 0..9: rank for 1% = 0.09 -> 0.09; for 99.8% = 8.982 -> 8.982
    const r = percentileRange(new Float32Array([9, 3, 1, 0, 2, 4, 8, 7, 6, 5]), 1, 99.8);
    expect(r.lo).toBeCloseTo(0.09, 6);
    expect(r.hi).toBeCloseTo(8.982, 6);
  });

  it('gives the same range from the exact integer histogram as from sorting', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 49, noNaN: true }),
        (vals, low) => {
          const high = 100 - low / 2;
          const r16 = percentileRange(Uint16Array.from(vals), low, high);
          const rf = percentileRange(Float32Array.from(vals), low, high);
          expect(r16.lo).toBeCloseTo(numpyPercentile(vals, low), 6);
          expect(r16.hi).toBeCloseTo(numpyPercentile(vals, high), 6);
          // The float copy of an integer image (what the pipeline normalises) takes the same exact path.
          expect(rf).toEqual(r16);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('clips to [0, 1] when asked and keeps the linear map otherwise', () => {
    const out = applyRange([0, 5, 10, 20], { lo: 5, hi: 15 }, true);
    expect(Array.from(out)).toEqual([0, 0, 0.5, 1]);
    expect(Array.from(applyRange([0, 20], { lo: 5, hi: 15 }, false))).toEqual([-0.5, 1.5]);
  });

  it('maps a flat image to zeros instead of NaN', () => {
    expect(Array.from(normalizePercentile(new Uint8Array([7, 7, 7])))).toEqual([0, 0, 0]);
  });

  it('uses a bounded sample for big float images that stays close to the exact range', () => {
    const n = 1 << 16;
    // Not whole numbers: whole numbers in 0..65535 take the exact histogram whatever their type.
    const data = new Float32Array(n).map((_, i) => ((i * 7919) % 1000) + 0.25);
    const exact = percentileRange(data, 1, 99.8, n);
    const sampled = percentileRange(data, 1, 99.8, 4096);
    expect(Math.abs(sampled.lo - exact.lo)).toBeLessThan(15); // 1.5% of the range
    expect(Math.abs(sampled.hi - exact.hi)).toBeLessThan(15); // 1.5% of the range
  });

  it('rejects NaN pixels and bad percentiles with a clear error', () => {
    expect(() => percentileRange(new Float32Array([1, Number.NaN]), 1, 99)).toThrow(/pixel 1 is NaN/);
    expect(() => percentileRange(new Float32Array([1]), 50, 10)).toThrow(QuorumInputError);
    expect(() => percentileRange(new Float32Array([]), 1, 99)).toThrow(/no pixels/);
  });
});
