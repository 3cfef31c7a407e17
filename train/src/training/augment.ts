import { type Random, reflectIndex } from '@quorum/shared';

/**
 * On-the-fly augmentation for training patches, driven by a seeded stream so a member's batches are reproducible:
 * a random crop (reflect-padding images smaller than the patch), optionally at a random scale, one of the 8
 * flip/90-degree-rotation symmetries, and an intensity gain/offset jitter on the normalised image (microscope
 * brightness varies between sessions).
 */
export interface AugmentOptions {
  patch: number;
  /** Apply random flips and 90-degree rotations. */
  geometric: boolean;
  /** Maximum relative gain change and offset (in normalised units); 0 disables. */
  intensityJitter: number;
  /**
   * Scale jitter: each patch is resampled at a factor drawn log-uniformly from [1 / (1 + s), 1 + s], so the
   * members see nuclei larger and smaller than the training images hold (sizes differ between acquisitions).
   * 0 or absent disables it, and then no draw is made, so runs from before it existed reproduce.
   */
  scaleJitter?: number;
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

/** The largest scale jitter accepted: factors from 0.5 to 2. */
export const MAX_SCALE_JITTER = 1;

/** Write one augmented patch of `src` into `out`: every map through the same crop, scale and symmetry. */
export function samplePatch(src: PatchSource, opts: AugmentOptions, rng: Random, out: PatchBuffers): void {
  const { image: img, mask, contour, weight } = out;
  const srcContour = contour ? src.contour : undefined;
  if (contour && !srcContour) throw new Error('samplePatch: a contour patch needs the source contour target');
  const srcWeight = weight ? src.weight : undefined;
  if (weight && !srcWeight) throw new Error('samplePatch: a weight patch needs the source weight map');
  const p = opts.patch;
  const jitter = opts.scaleJitter ?? 0;
  // Source pixels per patch pixel; drawn before the crop, whose extent it sets.
  const scale = jitter > 0 ? (1 + jitter) ** (rng.next() * 2 - 1) : 1;
  const extentX = Math.min(src.width, Math.round(p * scale));
  const extentY = Math.min(src.height, Math.round(p * scale));
  const x0 = src.width > extentX ? rng.int(src.width - extentX + 1) : 0;
  const y0 = src.height > extentY ? rng.int(src.height - extentY + 1) : 0;
  const sym = opts.geometric ? rng.int(8) : 0;
  const transpose = (sym & 4) !== 0;
  const flipX = (sym & 1) !== 0;
  const flipY = (sym & 2) !== 0;
  const gain = opts.intensityJitter ? 1 + (rng.next() * 2 - 1) * opts.intensityJitter : 1;
  const offset = opts.intensityJitter ? (rng.next() * 2 - 1) * opts.intensityJitter * 0.5 : 0;
  for (let y = 0; y < p; y++) {
    for (let x = 0; x < p; x++) {
      // (u, v) = the patch offset inside the crop for output pixel (x, y) under the chosen symmetry.
      let u = transpose ? y : x;
      let v = transpose ? x : y;
      if (flipX) u = p - 1 - u;
      if (flipY) v = p - 1 - v;
      const o = y * p + x;
      if (scale === 1) {
        const s = reflectIndex(y0 + v, src.height) * src.width + reflectIndex(x0 + u, src.width);
        img[o] = src.image[s]! * gain + offset;
        mask[o] = src.mask[s]!;
        if (srcContour) contour![o] = srcContour[s]!;
        if (srcWeight) weight![o] = srcWeight[s]!;
        continue;
      }
      // Pixel centres map to pixel centres: the image is interpolated bilinearly, the targets take the nearest
      // source pixel (a label map has no values between 0 and 1 to interpolate to).
      const fx = x0 + (u + 0.5) * scale - 0.5;
      const fy = y0 + (v + 0.5) * scale - 0.5;
      const nearest =
        reflectIndex(Math.round(fy), src.height) * src.width + reflectIndex(Math.round(fx), src.width);
      img[o] = bilinear(src.image, src.width, src.height, fx, fy) * gain + offset;
      mask[o] = src.mask[nearest]!;
      if (srcContour) contour![o] = srcContour[nearest]!;
      if (srcWeight) weight![o] = srcWeight[nearest]!;
    }
  }
}

/** The image's bilinear interpolation at (fx, fy), reflecting coordinates outside it. */
function bilinear(image: Float32Array, width: number, height: number, fx: number, fy: number): number {
  const ix = Math.floor(fx);
  const iy = Math.floor(fy);
  const ax = fx - ix;
  const ay = fy - iy;
  const xa = reflectIndex(ix, width);
  const xb = reflectIndex(ix + 1, width);
  const ra = reflectIndex(iy, height) * width;
  const rb = reflectIndex(iy + 1, height) * width;
  const top = image[ra + xa]! * (1 - ax) + image[ra + xb]! * ax;
  const bottom = image[rb + xa]! * (1 - ax) + image[rb + xb]! * ax;
  return top * (1 - ay) + bottom * ay;
}
