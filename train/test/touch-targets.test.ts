import { createRandom, distanceTransform } from '@quorum/shared';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { configDifferences, savedConfig, type TrainConfig } from '../src/ensemble/config';
import { samplePatch } from '../src/training/augment';
import { segmentationLoss } from '../src/training/loss';
import { borderWeights, touchGapTarget } from '../src/training/touch-targets';

function rows(a: ArrayLike<number>, w: number): string[] {
  const out: string[] = [];
  for (let y = 0; y * w < a.length; y++) out.push(Array.from({ length: w }, (_, x) => a[y * w + x]).join(''));
  return out;
}

describe('touch gap target', () => {
  // Objects 1 and 2 touch along a column; object 3 stands alone.
  const w = 12;
  const h = 4;
  const labels = new Uint32Array(w * h);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 6; x++) labels[y * w + x] = x < 3 ? 1 : 2;
  for (let y = 0; y < 3; y++) for (let x = 8; x < 11; x++) labels[y * w + x] = 3;

  it('removes the foreground next to another object, not next to background or the image border', () => {
    expect(rows(touchGapTarget(labels, w, h, 3), w)).toEqual([
      '110011001110',
      '110011001110',
      '110011001110',
      '000000000000',
    ]);
    expect(rows(touchGapTarget(labels, w, h, 5), w)).toEqual([
      '100001001110',
      '100001001110',
      '100001001110',
      '000000000000',
    ]);
  });

  it('leaves a binary mask (touching objects share a label) as it is', () => {
    const binary = labels.map((v) => (v ? 1 : 0));
    expect(touchGapTarget(binary, w, h, 3)).toEqual(Uint8Array.from(binary));
  });
});

describe('border weights', () => {
  it('peak between two nearby objects and are 1 on objects and away from pairs', () => {
    const w = 30;
    const h = 12;
    const labels = new Uint32Array(w * h);
    for (let y = 2; y < 8; y++) for (let x = 2; x < 8; x++) labels[y * w + x] = 1;
    for (let y = 2; y < 8; y++) for (let x = 10; x < 16; x++) labels[y * w + x] = 2;
    const wt = borderWeights(labels, w, h, { w0: 10, sigma: 5 });
    // (8, 4): 1 px from object 1, 2 px from object 2; (9, 4) the reverse.
    expect(wt[4 * w + 8]).toBeCloseTo(1 + 10 * Math.exp(-9 / 50), 5);
    expect(wt[4 * w + 9]).toBeCloseTo(1 + 10 * Math.exp(-9 / 50), 5);
    expect(wt[4 * w + 4]).toBe(1);
    expect(wt[4 * w + 12]).toBe(1);
    // Far right: beyond 4 sigma of object 1, so the second distance is not computed.
    expect(wt[4 * w + 29]).toBe(1);
  });

  it('match the unwindowed definition to within w0 e^-8 on random instance labels', () => {
    const rng = createRandom(7);
    const w = 48;
    const h = 40;
    const labels = new Uint32Array(w * h);
    for (let k = 1; k <= 9; k++) {
      const cx = rng.int(w);
      const cy = rng.int(h);
      const r = 2 + rng.int(5);
      for (let y = Math.max(0, cy - r); y < Math.min(h, cy + r); y++)
        for (let x = Math.max(0, cx - r); x < Math.min(w, cx + r); x++) labels[y * w + x] = k;
    }
    const opts = { w0: 10, sigma: 3 };
    const wt = borderWeights(labels, w, h, opts);
    const present = [...new Set(labels)].filter((v) => v !== 0);
    const dist = present.map(
      (k) =>
        distanceTransform({ width: w, height: h, data: Uint8Array.from(labels, (v) => (v === k ? 0 : 1)) })
          .data,
    );
    let peaked = 0;
    for (let i = 0; i < w * h; i++) {
      if (labels[i]) {
        expect(wt[i]).toBe(1);
        continue;
      }
      const [d1, d2] = dist.map((d) => d[i]!).sort((a, b) => a - b);
      const want = 1 + opts.w0 * Math.exp(-((d1! + (d2 ?? Infinity)) ** 2) / (2 * opts.sigma ** 2));
      expect(Math.abs(wt[i]! - want)).toBeLessThan(opts.w0 * Math.exp(-8) + 1e-5);
      if (want > 2) peaked++;
    }
    expect(peaked).toBeGreaterThan(0);
  });

  it('are cropped and turned with the patch, pixel for pixel like the mask', () => {
    const w = 40;
    const h = 30;
    const weight = Float32Array.from({ length: w * h }, (_, i) => 1 + (i % 17));
    const src = {
      width: w,
      height: h,
      image: Float32Array.from({ length: w * h }, (_, i) => i),
      mask: new Uint8Array(w * h),
      weight,
    };
    const p = 16;
    const out = {
      image: new Float32Array(p * p),
      mask: new Float32Array(p * p),
      weight: new Float32Array(p * p),
    };
    for (let k = 0; k < 8; k++) {
      samplePatch(src, { patch: p, geometric: true, intensityJitter: 0 }, createRandom(k), out);
      for (let i = 0; i < p * p; i++) expect(out.weight[i]).toBe(weight[out.image[i]!]);
    }
    expect(() =>
      samplePatch(
        { ...src, weight: undefined },
        { patch: p, geometric: false, intensityJitter: 0 },
        createRandom(1),
        out,
      ),
    ).toThrow(/weight/);
  });
});

describe('segmentation loss with element weights', () => {
  it('scales the cross-entropy term only', async () => {
    await tf.setBackend('cpu');
    const yTrue = tf.tensor4d([1, 0, 1, 0, 0, 1, 1, 0], [1, 2, 4, 1]);
    const yPred = tf.tensor4d([0.9, 0.2, 0.6, 0.1, 0.3, 0.7, 0.8, 0.4], [1, 2, 4, 1]);
    const ones = tf.onesLike(yTrue);
    const twos = tf.fill([1, 2, 4, 1], 2);
    const dice = segmentationLoss({ dice: 1, bce: 0 });
    const both = segmentationLoss({ dice: 1, bce: 1 });
    const plain = both(yTrue, yPred).dataSync()[0]!;
    expect(both(yTrue, yPred, ones).dataSync()[0]).toBeCloseTo(plain, 6);
    const bce = plain - dice(yTrue, yPred).dataSync()[0]!;
    expect(bce).toBeGreaterThan(0.1);
    expect(both(yTrue, yPred, twos).dataSync()[0]).toBeCloseTo(plain + bce, 5);
    // Weight 5 on one background pixel predicted 0.4: its cross-entropy counts 4 more times in the mean.
    const oneHot = tf.tensor4d([1, 1, 1, 1, 1, 1, 1, 5], [1, 2, 4, 1]);
    const extra = (4 * -Math.log(1 - 0.4)) / 8;
    expect(both(yTrue, yPred, oneHot).dataSync()[0]).toBeCloseTo(plain + extra, 5);
    tf.dispose([yTrue, yPred, ones, twos, oneHot]);
  });
});

describe('saved training configs', () => {
  it('read a config from before the touch targets as trained without them', () => {
    const old = { folds: 3, seed: 0 } as unknown as TrainConfig;
    const now = { folds: 3, seed: 0, touch: { gap: 0, borderWeight: null } } as unknown as TrainConfig;
    expect(configDifferences(savedConfig(old), now)).toEqual([]);
    expect(configDifferences(savedConfig(old), { ...now, touch: { gap: 3, borderWeight: null } })).toEqual([
      'touch.gap',
    ]);
  });
});
