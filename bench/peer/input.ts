/**
 * A deterministic synthetic fluorescence-like image: Gaussian blobs (nuclei) of varied size and brightness on a
 * dim background, in [0, 1] like the pipeline's normalized input. Smooth and object-like, so the member's output
 * has real foreground, background and edges rather than saturating everywhere, and both runtimes get the
 * exact same float32 values.
 */
export function blobImage(size: number, seed = 1): Float32Array {
  // A 32-bit LCG (Numerical Recipes constants): deterministic across engines, no dependency.
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const image = new Float32Array(size * size).fill(0.04);
  const blobs = Math.max(4, Math.round((size * size) / 6000));
  for (let b = 0; b < blobs; b++) {
    const cx = next() * size;
    const cy = next() * size;
    const sigma = 3 + next() * 9;
    const peak = 0.35 + next() * 0.65;
    const reach = Math.ceil(3 * sigma);
    for (let y = Math.max(0, Math.floor(cy - reach)); y < Math.min(size, Math.ceil(cy + reach)); y++) {
      for (let x = Math.max(0, Math.floor(cx - reach)); x < Math.min(size, Math.ceil(cx + reach)); x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        image[y * size + x]! += peak * Math.exp(-d2 / (2 * sigma * sigma));
      }
    }
  }
  for (let i = 0; i < image.length; i++) image[i] = Math.min(1, image[i]!);
  return image;
}
