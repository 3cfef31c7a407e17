/**
 * Flip test-time augmentation on tile batches ([count, h, w] row-major). Flips are their own inverse, so the same
 * function maps inputs forward and predictions back.
 */
export type Flip = 'none' | 'horizontal' | 'vertical' | 'both';
export const TTA_FLIPS: readonly Flip[] = ['none', 'horizontal', 'vertical', 'both'];

export function flipBatch(src: Float32Array, count: number, h: number, w: number, flip: Flip): Float32Array {
  if (flip === 'none') return src;
  const out = new Float32Array(src.length);
  const fx = flip === 'horizontal' || flip === 'both';
  const fy = flip === 'vertical' || flip === 'both';
  for (let n = 0; n < count; n++) {
    const base = n * h * w;
    for (let y = 0; y < h; y++) {
      const sy = fy ? h - 1 - y : y;
      for (let x = 0; x < w; x++) out[base + y * w + x] = src[base + sy * w + (fx ? w - 1 - x : x)]!;
    }
  }
  return out;
}
