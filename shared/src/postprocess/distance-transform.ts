import { checkMap, type Mask } from './map2d';

/** A 2-D float64 map (row-major), for geometry where float32 rounding would create false ties. */
export interface Float64Map {
  readonly width: number;
  readonly height: number;
  readonly data: Float64Array;
}

/**
 * Exact Euclidean distance from each foreground pixel to the nearest background pixel (0 on background), as
 * SciPy's `ndimage.distance_transform_edt`: the image border is not background. A mask with no background at
 * all gets `width + height` everywhere (farther than any in-image distance) rather than Infinity.
 *
 * Felzenszwalb and Huttenlocher's separable algorithm: squared distances along columns, then the lower envelope
 * of parabolas along rows, O(pixels). Squared distances are integers, so the result equals sqrt(integer) exactly.
 */
export function distanceTransform(mask: Mask): Float64Map {
  checkMap(mask, 'mask');
  const { width: w, height: h, data: m } = mask;
  const INF = 1e20;
  // Columns: each pixel's distance to the nearest background pixel in its column, by a downward and an upward
  // pass in raster order (cache-friendly; the column-by-column envelope walked the image with a stride of a whole
  // row and was most of this function's time), squared. Integers, so exactly the envelope's squared distances; a
  // column without background stays at INF (INF + 1 rounds back to INF).
  const sq = new Float64Array(w * h);
  for (let x = 0; x < w; x++) sq[x] = m[x] ? INF : 0;
  for (let i = w; i < w * h; i++) sq[i] = m[i] ? sq[i - w]! + 1 : 0;
  for (let i = w * (h - 1) - 1; i >= 0; i--) {
    const below = sq[i + w]! + 1;
    if (below < sq[i]!) sq[i] = below;
  }
  for (let i = 0; i < w * h; i++) {
    const d = sq[i]!;
    sq[i] = d >= INF ? INF : d * d;
  }
  const scratch = envelopeScratch(w);
  const row = new Float64Array(w);
  const rowOut = new Float64Array(w);
  let anyBackground = false;
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) row[x] = sq[o + x]!;
    lowerEnvelope(row, w, rowOut, scratch);
    for (let x = 0; x < w; x++) {
      const d2 = rowOut[x]!;
      if (d2 === 0) anyBackground = true;
      sq[o + x] = Math.sqrt(d2);
    }
  }
  if (!anyBackground && w * h > 0) sq.fill(w + h);
  return { width: w, height: h, data: sq };
}

function envelopeScratch(n: number) {
  return { v: new Int32Array(n), z: new Float64Array(n + 1) };
}

/** 1-D squared distance transform of sampled function f (0 on background, "infinity" elsewhere). */
function lowerEnvelope(
  f: Float64Array,
  n: number,
  out: Float64Array,
  { v, z }: ReturnType<typeof envelopeScratch>,
): void {
  // Parabolas rooted at "infinite" samples never form the envelope; skipping them keeps the arithmetic exact.
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q]! >= 1e20) continue;
    // Pop the parabolas the new one hides; an empty envelope restarts with this one over the whole line.
    let s = Number.NEGATIVE_INFINITY;
    while (k >= 0) {
      s = intersect(f, q, v[k]!);
      if (s > z[k]!) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = k === 0 ? Number.NEGATIVE_INFINITY : s;
    z[k + 1] = Number.POSITIVE_INFINITY;
  }
  if (k < 0) {
    out.fill(1e20, 0, n);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1]! < q) j++;
    const d = q - v[j]!;
    out[q] = d * d + f[v[j]!]!;
  }
}

function intersect(f: Float64Array, q: number, p: number): number {
  return (f[q]! + q * q - (f[p]! + p * p)) / (2 * q - 2 * p);
}
