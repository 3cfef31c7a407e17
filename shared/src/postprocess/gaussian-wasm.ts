import { align16, pipelineKernels } from '../wasm/pipeline';

/** Rows per band: bands bound the module's memory whatever the image size (about 12 MB for 2048-wide rows). */
const BAND_VALUES = 1 << 19;

/**
 * gaussianBlur's two passes in the pipeline module (blur_rows, blur_cols), in bands of rows: each band's source
 * rows and the `radius` rows above and below it (reflected at the image's edges, as are the columns) are copied in
 * padded, so that the module reads every tap directly. The sums run in gaussianBlur's order, so the result is the
 * same to the bit. Null where the module cannot run (the caller then runs the JS passes).
 */
export function wasmGaussianBlur(
  src: Float64Array,
  w: number,
  h: number,
  kernel: Float64Array,
  reflect: (i: number, n: number) => number,
): Float64Array | null {
  const taps = kernel.length;
  const radius = (taps - 1) >> 1;
  // Pairs of pixels: an odd width computes one more column, dropped.
  const we = w + (w & 1);
  const band = Math.max(1, Math.min(h, Math.floor(BAND_VALUES / we)));
  const rows = band + 2 * radius;
  const prow = we + 2 * radius;
  const kAt = 0;
  const pAt = align16(taps * 8);
  const tAt = pAt + align16(rows * prow * 8);
  const oAt = tAt + align16(rows * we * 8);
  const wasm = pipelineKernels(oAt + band * we * 8);
  if (!wasm) return null;
  const f64 = new Float64Array(wasm.buffer);
  f64.set(kernel, kAt >> 3);
  const out = new Float64Array(w * h);
  const p0 = pAt >> 3;
  for (let y0 = 0; y0 < h; y0 += band) {
    const count = Math.min(band, h - y0);
    for (let j = 0; j < count + 2 * radius; j++) {
      const row = reflect(y0 - radius + j, h) * w;
      const at = p0 + j * prow;
      for (let e = 0; e < radius; e++) f64[at + e] = src[row + reflect(e - radius, w)]!;
      f64.set(src.subarray(row, row + w), at + radius);
      for (let e = w; e < prow - radius; e++) f64[at + radius + e] = src[row + reflect(e, w)]!;
    }
    wasm.kernels.blur_rows(pAt, prow * 8, we, taps, kAt, tAt, count + 2 * radius);
    wasm.kernels.blur_cols(tAt, we, taps, kAt, oAt, count);
    const o0 = oAt >> 3;
    for (let i = 0; i < count; i++) out.set(f64.subarray(o0 + i * we, o0 + i * we + w), (y0 + i) * w);
  }
  return out;
}
