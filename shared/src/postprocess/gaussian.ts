import type { Float64Map } from './distance-transform';
import { wasmGaussianBlur } from './gaussian-wasm';

/**
 * Separable Gaussian blur with SciPy's defaults (`ndimage.gaussian_filter`: kernel radius round(4 sigma),
 * 'reflect' borders, i.e. d c b a | a b c d). Used to smooth a distance map so that one elongated or
 * notched nucleus has one maximum rather than several.
 */
export function gaussianBlur(map: Float64Map, sigma: number): Float64Map {
  if (!(sigma > 0)) return map;
  const { width: w, height: h } = map;
  const radius = Math.floor(4 * sigma + 0.5);
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp((-0.5 * i * i) / (sigma * sigma));
    kernel[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= sum;
  // The pipeline module where the runtime has it (the same bits, several times faster); else the JS passes.
  const fast = wasmGaussianBlur(map.data, w, h, kernel, symmetricIndex);
  if (fast) return { width: w, height: h, data: fast };
  const tmp = new Float64Array(w * h);
  const out = new Float64Array(w * h);
  // Rows, then columns. Only the `radius` pixels next to an edge need the reflected index: the interior reads
  // its neighbours directly (symmetricIndex on every tap made this most of the post-processing's time).
  const src = map.data;
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      if (x >= radius && x < w - radius) {
        for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * src[o + x + k]!;
      } else {
        for (let k = -radius; k <= radius; k++)
          acc += kernel[k + radius]! * src[o + symmetricIndex(x + k, w)]!;
      }
      tmp[o + x] = acc;
    }
  }
  for (let y = 0; y < h; y++) {
    const interior = y >= radius && y < h - radius;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      if (interior) {
        for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * tmp[(y + k) * w + x]!;
      } else {
        for (let k = -radius; k <= radius; k++)
          acc += kernel[k + radius]! * tmp[symmetricIndex(y + k, h) * w + x]!;
      }
      out[y * w + x] = acc;
    }
  }
  return { width: w, height: h, data: out };
}

/** Half-sample symmetric index (SciPy 'reflect'), valid for any offset. */
function symmetricIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - 1 - j;
}
