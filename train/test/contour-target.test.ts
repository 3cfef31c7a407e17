import { createRandom } from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import { samplePatch } from '../src/training/augment';
import { contourTarget } from '../src/training/contour-target';

describe('contour target', () => {
  it('marks foreground pixels next to background or another object, not the image border', () => {
    // Two 3-wide objects touching along a column, the first cut by the image's left border.
    const w = 7;
    const h = 5;
    const labels = new Uint32Array(w * h);
    for (let y = 1; y < 4; y++) for (let x = 0; x < 6; x++) labels[y * w + x] = x < 3 ? 1 : 2;
    const c = contourTarget(labels, w, h);
    const row = (y: number) => Array.from(c.subarray(y * w, (y + 1) * w)).join('');
    expect(row(0)).toBe('0000000');
    expect(row(1)).toBe('1111110');
    // Middle row: the left border is no contour; x = 2 and 3 face the other object, x = 5 faces background.
    expect(row(2)).toBe('0011010');
    expect(row(3)).toBe('1111110');
  });

  it('is cropped and turned with the patch, pixel for pixel like the mask', () => {
    const w = 40;
    const h = 30;
    const labels = Uint32Array.from({ length: w * h }, (_, i) => ((i % w) * 7 + Math.floor(i / w) * 3) % 5);
    const contour = contourTarget(labels, w, h);
    // The image holds each pixel's own index, so every patch pixel says which source pixel it came from.
    const src = {
      width: w,
      height: h,
      image: Float32Array.from({ length: w * h }, (_, i) => i),
      mask: Uint8Array.from(labels, (v) => (v ? 1 : 0)),
      contour,
    };
    const p = 16;
    const img = new Float32Array(p * p);
    const mask = new Float32Array(p * p);
    const out = new Float32Array(p * p);
    let contourPixels = 0;
    for (let k = 0; k < 8; k++) {
      samplePatch(src, { patch: p, geometric: true, intensityJitter: 0 }, createRandom(k), {
        image: img,
        mask,
        contour: out,
      });
      for (let i = 0; i < p * p; i++) {
        const s = img[i]!;
        expect(mask[i]).toBe(src.mask[s]);
        expect(out[i]).toBe(contour[s]);
        contourPixels += out[i]!;
      }
    }
    expect(contourPixels).toBeGreaterThan(0);
    expect(() =>
      samplePatch(
        { ...src, contour: undefined },
        { patch: p, geometric: false, intensityJitter: 0 },
        createRandom(1),
        { image: img, mask, contour: out },
      ),
    ).toThrow(/contour/);
  });
});
