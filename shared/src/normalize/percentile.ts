import { QuorumInputError } from '../errors';
import type { NormalizationSpec } from '../manifest/schema';

/**
 * Percentile normalisation, computed once on the whole image and then applied to every tile, so that neighbouring
 * tiles see the same intensity mapping (per-tile statistics would make seams and change a nucleus's brightness
 * depending on its neighbours).
 */
export const DEFAULT_NORMALIZATION: NormalizationSpec = {
  kind: 'percentile',
  low: 1,
  high: 99.8,
  clip: true,
};

/** Above this many pixels, float images are normalised from an evenly strided sample of this size. */
export const DEFAULT_MAX_SAMPLES = 1 << 22;

export interface IntensityRange {
  lo: number;
  hi: number;
}

/** numpy's default ('linear') percentile on sorted values. */
function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const rank = (q / 100) * (sorted.length - 1);
  const i = Math.floor(rank);
  const frac = rank - i;
  const a = sorted[i]!;
  return frac === 0 || i + 1 >= sorted.length ? a : a + frac * (sorted[i + 1]! - a);
}

/** Exact percentiles of integer data in 0..bins-1 from a histogram: O(n) time, O(bins) memory, no sample error. */
function percentilesFromHistogram(data: ArrayLike<number>, bins: number, qs: number[]): number[] {
  const hist = new Float64Array(bins);
  for (let i = 0; i < data.length; i++) hist[data[i]!]!++;
  const valueAtRank = (r: number): number => {
    let seen = 0;
    for (let v = 0; v < hist.length; v++) {
      seen += hist[v]!;
      if (seen > r) return v;
    }
    return hist.length - 1;
  };
  return qs.map((q) => {
    const rank = (q / 100) * (data.length - 1);
    const i = Math.floor(rank);
    const a = valueAtRank(i);
    const frac = rank - i;
    return frac === 0 ? a : a + frac * (valueAtRank(i + 1) - a);
  });
}

export function percentileRange(
  data: ArrayLike<number>,
  low: number,
  high: number,
  maxSamples = DEFAULT_MAX_SAMPLES,
): IntensityRange {
  if (!(low >= 0 && high <= 100 && low < high)) {
    throw new QuorumInputError(
      'invalid-value',
      'normalization',
      `percentiles must satisfy 0 <= low < high <= 100 (got ${low}, ${high})`,
    );
  }
  if (data.length === 0) throw new QuorumInputError('invalid-value', 'image', 'has no pixels');
  // 8/16-bit images, also once converted to float (the pipeline's raw intensities): exact and O(n), where sorting a
  // sample of a 4-megapixel float image took about a second.
  const bins =
    data instanceof Uint8Array ? 256 : data instanceof Uint16Array || wholeUint16(data) ? 65536 : 0;
  if (bins > 0) {
    const [lo, hi] = percentilesFromHistogram(data, bins, [low, high]) as [number, number];
    return { lo, hi };
  }
  const step = Math.max(1, Math.ceil(data.length / maxSamples));
  const sample = new Float64Array(Math.ceil(data.length / step));
  for (let i = 0, j = 0; i < data.length; i += step, j++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) throw new QuorumInputError('invalid-value', 'image', `pixel ${i} is ${v}`);
    sample[j] = v;
  }
  sample.sort();
  return { lo: percentileSorted(sample, low), hi: percentileSorted(sample, high) };
}

/** Whether every value is a whole number in 0..65535 (the float copy of an 8- or 16-bit image). */
function wholeUint16(data: ArrayLike<number>): boolean {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!(v >= 0 && v <= 65535 && Math.floor(v) === v)) return false;
  }
  return true;
}

/**
 * Map intensities to (v - lo) / (hi - lo), clipped to [0, 1] when `clip`. A flat image (hi == lo) maps to 0
 * everywhere rather than dividing by zero.
 */
export function applyRange(data: ArrayLike<number>, range: IntensityRange, clip: boolean): Float32Array {
  const out = new Float32Array(data.length);
  const span = range.hi - range.lo;
  if (span <= 0) return out;
  const inv = 1 / span;
  for (let i = 0; i < data.length; i++) {
    const v = (data[i]! - range.lo) * inv;
    out[i] = clip ? Math.min(1, Math.max(0, v)) : v;
  }
  return out;
}

export function normalizePercentile(
  data: ArrayLike<number>,
  spec: Pick<NormalizationSpec, 'low' | 'high' | 'clip'> = DEFAULT_NORMALIZATION,
  maxSamples = DEFAULT_MAX_SAMPLES,
): Float32Array {
  return applyRange(data, percentileRange(data, spec.low, spec.high, maxSamples), spec.clip);
}
