/**
 * Cheap per-image features for discovering data modes when no metadata says them: acquisition conditions
 * differ in geometry, intensity distribution and texture (magnification, stain, microscope), and these are
 * cheap to compute on the whole image.
 */
export interface GrayImage {
  width: number;
  height: number;
  /** One channel, row-major. */
  data: ArrayLike<number>;
  /** Largest representable value (255, 65535, or 1 for float images), to put all images on one scale. */
  maxValue: number;
}

export const FEATURE_NAMES = [
  'log-width',
  'log-height',
  'p01',
  'p50',
  'p99',
  'foreground-fraction',
  'gradient-energy',
] as const;

/**
 * The smallest spread of each feature that counts as a real difference between images (10% in size, 2% of the
 * intensity range, ...). Standardising by at least this keeps k-means from splitting images that differ only by noise.
 */
export const FEATURE_SCALE_FLOORS: readonly number[] = [0.1, 0.1, 0.02, 0.02, 0.02, 0.05, 0.05];

/** Percentile by sorting a bounded, evenly strided sample: deterministic and O(n) in memory for huge images. */
function samplePercentiles(data: ArrayLike<number>, scale: number, qs: number[]): number[] {
  const n = data.length;
  const step = Math.max(1, Math.floor(n / 65536));
  const sample: number[] = [];
  for (let i = 0; i < n; i += step) sample.push(data[i]! / scale);
  sample.sort((a, b) => a - b);
  return qs.map((q) => sample[Math.min(sample.length - 1, Math.floor(q * (sample.length - 1)))]!);
}

export function imageFeatures(img: GrayImage): number[] {
  const { width: w, height: h, data } = img;
  const scale = img.maxValue > 0 ? img.maxValue : 1;
  const [p01, p50, p99] = samplePercentiles(data, scale, [0.01, 0.5, 0.99]) as [number, number, number];
  const mid = (p01 + p99) / 2;
  let fg = 0;
  let grad = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const v = data[i]! / scale;
      if (v > mid) fg++;
      if (x + 1 < w) grad += Math.abs(data[i + 1]! / scale - v);
      if (y + 1 < h) grad += Math.abs(data[i + w]! / scale - v);
    }
  }
  const range = Math.max(p99 - p01, 1e-6);
  return [Math.log(w), Math.log(h), p01, p50, p99, fg / (w * h), grad / (2 * w * h * range)];
}
