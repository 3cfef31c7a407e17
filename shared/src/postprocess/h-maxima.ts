import type { Float64Map } from './distance-transform';
import type { Mask } from './map2d';

/** The 8 neighbour offsets. */
const N8X = Int8Array.of(-1, 0, 1, -1, 1, -1, 0, 1);
const N8Y = Int8Array.of(-1, -1, -1, 0, 0, 1, 1, 1);

/**
 * Grayscale reconstruction by dilation of `marker` under `mask` (marker <= mask pointwise), 8-connected:
 * Vincent's (1993) hybrid algorithm, a forward and a backward raster pass, then a FIFO queue for what they left.
 */
export function reconstructByDilation(marker: Float64Map, mask: Float64Map): Float64Map {
  const { width: w, height: h } = mask;
  const f = mask.data;
  const r = new Float64Array(f.length);
  for (let i = 0; i < r.length; i++) r[i] = Math.min(marker.data[i]!, f[i]!);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      let m = r[i]!;
      if (x > 0) m = Math.max(m, r[i - 1]!);
      if (y > 0) {
        if (x > 0) m = Math.max(m, r[i - w - 1]!);
        m = Math.max(m, r[i - w]!);
        if (x < w - 1) m = Math.max(m, r[i - w + 1]!);
      }
      r[i] = Math.min(m, f[i]!);
    }
  }
  const queue: number[] = [];
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      let m = r[i]!;
      if (x < w - 1) m = Math.max(m, r[i + 1]!);
      if (y < h - 1) {
        if (x < w - 1) m = Math.max(m, r[i + w + 1]!);
        m = Math.max(m, r[i + w]!);
        if (x > 0) m = Math.max(m, r[i + w - 1]!);
      }
      const v = Math.min(m, f[i]!);
      r[i] = v;
      // A neighbour already visited in this pass that could still rise from this pixel seeds the queue.
      if (
        (x < w - 1 && canRise(r, f, i + 1, v)) ||
        (y < h - 1 &&
          ((x > 0 && canRise(r, f, i + w - 1, v)) ||
            canRise(r, f, i + w, v) ||
            (x < w - 1 && canRise(r, f, i + w + 1, v))))
      )
        queue.push(i);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head]!;
    const x = i % w;
    const y = (i - x) / w;
    for (let k = 0; k < 8; k++) {
      const nx = x + N8X[k]!;
      const ny = y + N8Y[k]!;
      if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
      const j = ny * w + nx;
      if (r[j]! < r[i]! && r[j] !== f[j]) {
        r[j] = Math.min(r[i]!, f[j]!);
        queue.push(j);
      }
    }
  }
  return { width: w, height: h, data: r };
}

function canRise(r: Float64Array, f: Float64Array, j: number, v: number): boolean {
  return r[j]! < v && r[j]! < f[j]!;
}

/**
 * The h-maxima of `map`: pixels on a regional maximum whose height above the saddle to any higher maximum is at
 * least `h` (scikit-image's `morphology.h_maxima`, including its float tolerance), 8-connected.
 */
export function hMaxima(map: Float64Map, h: number): Mask {
  const { width, height, data } = map;
  const out = new Uint8Array(data.length);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    lo = Math.min(lo, data[i]!);
    hi = Math.max(hi, data[i]!);
  }
  if (data.length === 0 || h > hi - lo) return { width, height, data: out };
  // As scikit-image: shift by h plus a relative float resolution so a peak of height exactly h survives.
  const shifted = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) shifted[i] = data[i]! - h - 2 * 1e-15 * Math.abs(data[i]!);
  const rec = reconstructByDilation({ width, height, data: shifted }, map);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! - rec.data[i]! >= h ? 1 : 0;
  return { width, height, data: out };
}
