import { createRandom } from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import { samplePatch } from '../src/training/augment';

const W = 300;
const H = 200;
/** An image whose value is its x coordinate, a mask of vertical 10-px stripes. */
const ramp = {
  width: W,
  height: H,
  image: Float32Array.from({ length: W * H }, (_, i) => i % W),
  mask: Uint8Array.from({ length: W * H }, (_, i) => (Math.floor((i % W) / 10) % 2 === 0 ? 1 : 0)),
};
const p = 64;
const buffers = () => ({ image: new Float32Array(p * p), mask: new Float32Array(p * p) });
const plain = { patch: p, geometric: false, intensityJitter: 0 };

/** The source pixels per patch pixel along x, as the ramp's slope across the patch's first row. */
const slope = (image: Float32Array) => (image[p - 2]! - image[1]!) / (p - 3);

describe('samplePatch scale jitter', () => {
  it('off (0 or absent) crops at the native scale and draws the same stream as before it existed', () => {
    for (let k = 0; k < 20; k++) {
      const a = buffers();
      const b = buffers();
      samplePatch(ramp, plain, createRandom(k), a);
      samplePatch(ramp, { ...plain, scaleJitter: 0 }, createRandom(k), b);
      expect(b.image).toEqual(a.image);
      expect(slope(a.image)).toBe(1);
      // The crop's origin is the stream's first draw, as it was before scale jitter: rng.int(W - p + 1).
      expect(a.image[0]).toBe(createRandom(k).int(W - p + 1));
    }
  });

  it('resamples at factors spread over [1/(1+s), 1+s], zooming both in and out', () => {
    const s = 0.3;
    const slopes: number[] = [];
    for (let k = 0; k < 200; k++) {
      const out = buffers();
      samplePatch(ramp, { ...plain, scaleJitter: s }, createRandom(k), out);
      const m = slope(out.image);
      // A linear ramp stays linear under bilinear resampling: every step the same (the outermost pixel centres
      // may fall a fraction of a pixel past the crop's, where reflection bends the ramp).
      for (let x = 2; x < p - 1; x++) expect(out.image[x]! - out.image[x - 1]!).toBeCloseTo(m, 3);
      slopes.push(m);
    }
    expect(Math.min(...slopes)).toBeGreaterThanOrEqual(1 / (1 + s) - 1e-6);
    expect(Math.max(...slopes)).toBeLessThanOrEqual(1 + s + 1e-6);
    expect(slopes.filter((m) => m < 0.9).length).toBeGreaterThan(30);
    expect(slopes.filter((m) => m > 1.1).length).toBeGreaterThan(30);
  });

  it('keeps the target binary and aligned with the image: each target pixel is its nearest source pixel', () => {
    let checked = 0;
    const wrong: string[] = [];
    for (let k = 0; k < 50; k++) {
      const out = buffers();
      const opts = { patch: p, geometric: true, intensityJitter: 0, scaleJitter: 0.5 };
      samplePatch(ramp, opts, createRandom(k), out);
      for (let i = 0; i < p * p; i++) {
        const x = out.image[i]!; // the source x this patch pixel samples (the ramp's value)
        if (out.mask[i] !== 0 && out.mask[i] !== 1) wrong.push(`draw ${k} pixel ${i}: target ${out.mask[i]}`);
        // Away from a stripe edge the nearest source pixel's stripe is the interpolated position's.
        if (Math.abs(((x + 0.5) % 10) - 5) >= 4) continue;
        checked++;
        const want = Math.floor(Math.round(x) / 10) % 2 === 0 ? 1 : 0;
        if (out.mask[i] !== want) wrong.push(`draw ${k} pixel ${i} (source x ${x}): target ${out.mask[i]}`);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(checked).toBeGreaterThan(50 * p * p * 0.5);
  });

  it('reflect-pads a source smaller than the scaled patch, with finite values from the source only', () => {
    const small = {
      width: 20,
      height: 12,
      image: new Float32Array(240).fill(3),
      mask: new Uint8Array(240).fill(1),
    };
    for (let k = 0; k < 20; k++) {
      const out = buffers();
      samplePatch(small, { ...plain, scaleJitter: 1 }, createRandom(k), out);
      expect(out.image.every((v) => Math.abs(v - 3) < 1e-6)).toBe(true);
      expect(out.mask.every((v) => v === 1)).toBe(true);
    }
  });
});
