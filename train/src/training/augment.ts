import { type Random, reflectIndex } from '@quorum/shared';

/**
 * On-the-fly augmentation for training patches, driven by a seeded stream so a member's batches are reproducible:
 * a random crop (reflect-padding images smaller than the patch), one of the 8 flip/90-degree-rotation symmetries,
 * and an intensity gain/offset jitter on the normalised image (microscope brightness varies between sessions).
 */
export interface AugmentOptions {
  patch: number;
  /** Apply random flips and 90-degree rotations. */
  geometric: boolean;
  /** Maximum relative gain change and offset (in normalised units); 0 disables. */
  intensityJitter: number;
}

export interface PatchSource {
  width: number;
  height: number;
  image: Float32Array;
  mask: Uint8Array;
  /** The contour target (see contourTarget); needed when a contour patch is asked for. */
  contour?: Uint8Array;
  /** Per-pixel loss weights (see borderWeights); needed when a weight patch is asked for. */
  weight?: Float32Array;
}

/** Where one patch goes: patch*patch values each, row-major. */
export interface PatchBuffers {
  image: Float32Array;
  mask: Float32Array;
  /** Filled with the same crop of the source's contour target when given. */
  contour?: Float32Array;
  /** Filled with the same crop of the source's loss weights when given. */
  weight?: Float32Array;
}

/** Write one augmented patch of `src` into `out`: every map through the same crop and symmetry. */
export function samplePatch(src: PatchSource, opts: AugmentOptions, rng: Random, out: PatchBuffers): void {
  const { image: img, mask, contour, weight } = out;
  const srcContour = contour ? src.contour : undefined;
  if (contour && !srcContour) throw new Error('samplePatch: a contour patch needs the source contour target');
  const srcWeight = weight ? src.weight : undefined;
  if (weight && !srcWeight) throw new Error('samplePatch: a weight patch needs the source weight map');
  const p = opts.patch;
  const x0 = src.width > p ? rng.int(src.width - p + 1) : 0;
  const y0 = src.height > p ? rng.int(src.height - p + 1) : 0;
  const sym = opts.geometric ? rng.int(8) : 0;
  const transpose = (sym & 4) !== 0;
  const flipX = (sym & 1) !== 0;
  const flipY = (sym & 2) !== 0;
  const gain = opts.intensityJitter ? 1 + (rng.next() * 2 - 1) * opts.intensityJitter : 1;
  const offset = opts.intensityJitter ? (rng.next() * 2 - 1) * opts.intensityJitter * 0.5 : 0;
  for (let y = 0; y < p; y++) {
    for (let x = 0; x < p; x++) {
      // (u, v) = the source offset inside the crop for output pixel (x, y) under the chosen symmetry.
      let u = transpose ? y : x;
      let v = transpose ? x : y;
      if (flipX) u = p - 1 - u;
      if (flipY) v = p - 1 - v;
      const sx = reflectIndex(x0 + u, src.width);
      const sy = reflectIndex(y0 + v, src.height);
      const s = sy * src.width + sx;
      const o = y * p + x;
      img[o] = src.image[s]! * gain + offset;
      mask[o] = src.mask[s]!;
      if (srcContour) contour![o] = srcContour[s]!;
      if (srcWeight) weight![o] = srcWeight[s]!;
    }
  }
}
