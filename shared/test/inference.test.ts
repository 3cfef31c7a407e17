import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../src/aggregate';
import {
  type EnsembleRunner,
  flipBatch,
  InferenceAbortedError,
  inferEnsemble,
  tfEnsembleRunner,
} from '../src/inference';
import { buildUNet } from '../src/model';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A runner whose members are per-pixel functions: blending and TTA must then reproduce f(image) exactly. */
function pixelRunner(fns: ((v: number) => number)[], calls: number[] = []): EnsembleRunner {
  return {
    members: fns.map((_, i) => ({ id: `m${i}`, mode: i % 2 ? 'a' : 'b' })),
    async predict(index, tiles, count) {
      calls.push(count);
      return tiles.map(fns[index]!);
    },
  };
}

const image = (w: number, h: number) =>
  Float32Array.from({ length: w * h }, (_, i) => ((i * 37) % 101) / 100);
const tiling = { tile: 32, halo: 4, blend: 'gaussian' as const };

describe('ensemble inference pipeline', () => {
  it('reproduces per-pixel member outputs across tiles, padding and TTA', async () => {
    const fns = [(v: number) => v, (v: number) => 1 - v, (v: number) => v * v];
    for (const [w, h] of [
      [70, 45],
      [10, 7],
      [32, 32],
    ] as const) {
      const img = image(w, h);
      for (const tta of [false, true]) {
        const { statistics } = await inferEnsemble(img, w, h, pixelRunner(fns), {
          tiling,
          multiple: 8,
          threshold: 0.5,
          tta,
          batchSize: 3,
        });
        for (let i = 0; i < img.length; i++) {
          const vals = fns.map((f) => f(img[i]!));
          expect(statistics.mean[i]).toBeCloseTo(vals.reduce((a, b) => a + b) / 3, 5);
          expect(statistics.max[i]).toBeCloseTo(Math.max(...vals), 5);
          expect(statistics.vote[i]).toBeCloseTo(vals.filter((v) => v > 0.5).length / 3, 5);
        }
      }
    }
  });

  it('undoes the flips of TTA: a position-dependent member gives the same map with and without TTA', async () => {
    // Member output depends on the position inside the tile; un-flipped TTA outputs average to the same map only
    // if each flipped prediction is flipped back correctly (here the member is "identity", position-dependent input).
    const w = 48;
    const h = 40;
    const img = image(w, h);
    const runner = pixelRunner([(v) => v]);
    const plain = await inferEnsemble(img, w, h, runner, { tiling, multiple: 8, threshold: 0.5 });
    const tta = await inferEnsemble(img, w, h, runner, { tiling, multiple: 8, threshold: 0.5, tta: true });
    for (let i = 0; i < img.length; i++)
      expect(tta.statistics.mean[i]).toBeCloseTo(plain.statistics.mean[i]!, 6);
    const t = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from(flipBatch(t, 1, 2, 3, 'horizontal'))).toEqual([3, 2, 1, 6, 5, 4]);
    expect(Array.from(flipBatch(t, 1, 2, 3, 'vertical'))).toEqual([4, 5, 6, 1, 2, 3]);
    expect(Array.from(flipBatch(flipBatch(t, 1, 2, 3, 'both'), 1, 2, 3, 'both'))).toEqual(Array.from(t));
  });

  it('reports progress over tiles x members x variants and batches tiles', async () => {
    const calls: number[] = [];
    const seen: number[] = [];
    const r = await inferEnsemble(image(100, 60), 100, 60, pixelRunner([(v) => v, (v) => v], calls), {
      tiling,
      multiple: 8,
      threshold: 0.5,
      batchSize: 4,
      onProgress: (p) => seen.push(p.done / p.total),
    });
    const tiles = r.plan.windows.length;
    expect(r.evaluations).toBe(tiles * 2);
    expect(seen.at(-1)).toBe(1);
    expect(Math.max(...calls)).toBe(4);
    expect(calls.reduce((a, b) => a + b)).toBe(tiles * 2);
  });

  it('stops within one member call when aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const runner: EnsembleRunner = {
      members: [{ id: 'a', mode: 'x' }],
      async predict(_i, tiles) {
        if (++calls === 2) controller.abort();
        return tiles;
      },
    };
    await expect(
      inferEnsemble(image(200, 200), 200, 200, runner, {
        tiling,
        multiple: 8,
        threshold: 0.5,
        batchSize: 1,
        signal: controller.signal,
      }),
    ).rejects.toBeInstanceOf(InferenceAbortedError);
    expect(calls).toBe(2);
  });

  it('rejects an image whose buffer does not match its size, and a member returning the wrong size', async () => {
    await expect(
      inferEnsemble(new Float32Array(10), 4, 4, pixelRunner([(v) => v]), {
        tiling,
        multiple: 8,
        threshold: 0.5,
      }),
    ).rejects.toThrow(/image: has 10 values for 4x4/);
    const bad: EnsembleRunner = {
      members: [{ id: 'bad', mode: 'x' }],
      predict: async () => new Float32Array(3),
    };
    await expect(
      inferEnsemble(image(8, 8), 8, 8, bad, { tiling, multiple: 8, threshold: 0.5 }),
    ).rejects.toThrow(/member bad: returned 3 values/);
  });

  it('with real U-Nets on one tile, equals predicting the whole image directly', async () => {
    const config = {
      depth: 2,
      baseFilters: 4,
      batchNorm: false,
      upsampling: 'transpose' as const,
      inputChannels: 1 as const,
    };
    const models = [buildUNet(config, 1), buildUNet(config, 2)];
    const w = 32;
    const h = 32;
    const img = image(w, h);
    const before = tf.memory().numTensors;
    const runner = tfEnsembleRunner(models, [
      { id: 'a', mode: 'x' },
      { id: 'b', mode: 'x' },
    ]);
    const { statistics } = await inferEnsemble(img, w, h, runner, { tiling, multiple: 4, threshold: 0.5 });
    expect(tf.memory().numTensors).toBe(before); // every tile's tensors were disposed
    const direct = models.map((m) =>
      tf.tidy(() => (m.predict(tf.tensor4d(img, [1, h, w, 1])) as tf.Tensor).dataSync()),
    );
    for (let i = 0; i < img.length; i++)
      expect(statistics.mean[i]).toBeCloseTo((direct[0]![i]! + direct[1]![i]!) / 2, 5);
    const { mask } = aggregate(statistics, 'mean', 0.5);
    expect(mask.length).toBe(w * h);
    for (const m of models) m.dispose();
  });
});
