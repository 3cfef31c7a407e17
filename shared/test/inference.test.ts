import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../src/aggregate';
import { imageToFloat } from '../src/image';
import {
  defaultTileBatch,
  type EnsembleRunner,
  flipBatch,
  InferenceAbortedError,
  inferEnsemble,
  segmentImage,
  tfEnsembleRunner,
} from '../src/inference';
import { buildUNet } from '../src/model';
import { normalizePercentile } from '../src/normalize/percentile';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A runner whose members are per-pixel functions: blending and TTA must then reproduce f(image) exactly. */
function pixelRunner(fns: ((v: number) => number)[], calls: number[] = []): EnsembleRunner {
  return {
    members: fns.map((_, i) => ({ id: `m${i}`, mode: i % 2 ? 'a' : 'b' })),
    channels: 1,
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
  it('batches windows by pixels when the caller sets no batch size: up to four small windows per call, one large one', async () => {
    expect(defaultTileBatch(256, 256)).toBe(4);
    expect(defaultTileBatch(128, 128)).toBe(4);
    expect(defaultTileBatch(300, 300)).toBe(2);
    expect(defaultTileBatch(704, 704)).toBe(1);
    expect(defaultTileBatch(2048, 2048)).toBe(1);
    // 1000x400 at tile 512, halo 8: two windows of 512x400 px (204,800 px each, over half the budget), one per
    // call. At tile 64: 21 x 8 windows of 64 px, four per call.
    for (const [tile, expected] of [
      [512, [1, 1]],
      [64, Array(42).fill(4)],
    ] as const) {
      const calls: number[] = [];
      const img = image(1000, 400);
      await inferEnsemble(img, 1000, 400, pixelRunner([(v) => v], calls), {
        tiling: { tile, halo: 8, blend: 'gaussian' },
        multiple: 8,
        threshold: 0.5,
      });
      expect(calls).toEqual(expected);
    }
  });

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
      channels: 1,
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
      channels: 1,
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

describe('adaptive ensemble (exact)', () => {
  /**
   * Members whose output depends on the position inside the tile (as real networks' does near tile borders), so
   * overlapping windows disagree and the blended bounds matter, not just per-window decisions.
   */
  function positionalRunner(count: number): EnsembleRunner {
    return {
      members: Array.from({ length: count }, (_, i) => ({ id: `m${i}`, mode: 'x' })),
      channels: 1,
      async predict(index, tiles, _count, h, w) {
        const out = new Float32Array(tiles.length);
        for (let i = 0; i < tiles.length; i++) {
          const x = i % w;
          const y = Math.floor(i / w) % h;
          const v = tiles[i]! + 0.15 * Math.sin(index * 1.7 + x / 5) * Math.cos(y / 7 + index);
          out[i] = Math.min(1, Math.max(0, v));
        }
        return out;
      },
    };
  }

  /** Sparse bright nuclei on a dark background (most windows are plain background; a few hold edges). */
  const blobs = (w: number, h: number) =>
    Float32Array.from({ length: w * h }, (_, i) => {
      const x = i % w;
      const y = Math.floor(i / w);
      const inside = [
        [30, 25, 12],
        [100, 70, 15],
        [60, 90, 8],
      ].some(([cx, cy, r]) => (x - cx!) ** 2 + (y - cy!) ** 2 < r! ** 2);
      return inside ? 0.9 : 0.1 + (0.3 * ((x * 7 + y * 13) % 10)) / 10;
    });

  it.each(['mean', 'vote', 'union'] as const)(
    'gives the identical mask with fewer evaluations (%s)',
    async (rule) => {
      const w = 150;
      const h = 110;
      const img = blobs(w, h);
      const runner = positionalRunner(7);
      const common = {
        tiling: { tile: 48, halo: 8, blend: 'gaussian' as const },
        multiple: 8,
        threshold: 0.5,
        rule,
        batchSize: 3,
      };
      const full = await inferEnsemble(img, w, h, runner, common);
      const fast = await inferEnsemble(img, w, h, runner, { ...common, adaptive: 'exact' });
      const stat = (r: typeof full) =>
        rule === 'mean' ? r.statistics.mean : rule === 'vote' ? r.statistics.vote : r.statistics.max;
      const cut = rule === 'vote' ? 0.5 : 0.5;
      const maskFull = aggregate(full.statistics, rule, 0.5).mask;
      const maskFast = aggregate(fast.statistics, rule, 0.5).mask;
      let differ = 0;
      for (let i = 0; i < maskFull.length; i++) if (maskFull[i] !== maskFast[i]) differ++;
      expect(differ).toBe(0);
      expect(fast.fullEvaluations).toBe(full.evaluations);
      if (rule !== 'union') expect(fast.evaluations).toBeLessThan(full.evaluations);
      // The reported map is consistent with the mask everywhere.
      const s = stat(fast);
      for (let i = 0; i < s.length; i++) expect(s[i]! > cut ? 1 : 0).toBe(maskFast[i]);
    },
  );

  it('re-runs a skipped window in full when blending with a neighbour leaves pixels undecided', async () => {
    // Windows whose input is mostly bright: every member says 0.95 (decided after 4 of 7 members). Other windows:
    // members alternate 0.3 / 0.7, mean 0.47, decided only by running all. Where the two kinds overlap, the
    // skipped window's bounds blend with the neighbour's exact value into an interval that straddles 0.5.
    const runner: EnsembleRunner = {
      members: Array.from({ length: 7 }, (_, i) => ({ id: `m${i}`, mode: 'x' })),
      channels: 1,
      async predict(index, tiles, n, h, w) {
        const out = new Float32Array(tiles.length);
        for (let t = 0; t < n; t++) {
          const tile = tiles.subarray(t * h * w, (t + 1) * h * w);
          const bright = tile.reduce((a, b) => a + b, 0) / tile.length > 0.5;
          out.fill(bright ? 0.95 : index % 2 ? 0.7 : 0.3, t * h * w, (t + 1) * h * w);
        }
        return out;
      },
    };
    const w = 100;
    const h = 16;
    const img = Float32Array.from({ length: w * h }, (_, i) => (i % w < 40 ? 1 : 0));
    const common = {
      tiling: { tile: 48, halo: 8, blend: 'taper' as const },
      multiple: 8,
      threshold: 0.5,
      batchSize: 1,
    };
    const full = await inferEnsemble(img, w, h, runner, common);
    const fast = await inferEnsemble(img, w, h, runner, { ...common, adaptive: 'exact' });
    expect(fast.refinedWindows).toBe(1);
    expect(Array.from(aggregate(fast.statistics, 'mean', 0.5).mask)).toEqual(
      Array.from(aggregate(full.statistics, 'mean', 0.5).mask),
    );
    // The refined window's statistics are now exact: the same as the full run's.
    for (let i = 0; i < w * h; i++) expect(fast.statistics.mean[i]).toBeCloseTo(full.statistics.mean[i]!, 5);
  });

  it('changes nothing for a single member', async () => {
    const r = await inferEnsemble(image(40, 40), 40, 40, positionalRunner(1), {
      tiling,
      multiple: 8,
      threshold: 0.5,
      adaptive: 'exact',
    });
    expect(r.evaluations).toBe(r.fullEvaluations);
  });
});

describe('members with a contour output', () => {
  /** Two-channel members: per-pixel foreground and contour functions, interleaved as [count, h, w, 2]. */
  function contourRunner(
    fg: ((v: number, x: number, y: number, m: number) => number)[],
    ct: (v: number, x: number, y: number, m: number) => number,
  ): EnsembleRunner {
    return {
      members: fg.map((_, i) => ({ id: `m${i}`, mode: 'x' })),
      channels: 2,
      async predict(index, tiles, _count, h, w) {
        const out = new Float32Array(tiles.length * 2);
        for (let i = 0; i < tiles.length; i++) {
          const x = i % w;
          const y = Math.floor(i / w) % h;
          out[2 * i] = fg[index]!(tiles[i]!, x, y, index);
          out[2 * i + 1] = ct(tiles[i]!, x, y, index);
        }
        return out;
      },
    };
  }

  it('blends the weighted mean contour across tiles and TTA, leaving the foreground statistics as they were', async () => {
    const fg = [(v: number) => v, (v: number) => 1 - v, (v: number) => v * v];
    const ct = (v: number, _x: number, _y: number, m: number) => (v * (m + 1)) / 3;
    const w = 70;
    const h = 45;
    const img = image(w, h);
    for (const tta of [false, true]) {
      const options = { tiling, multiple: 8, threshold: 0.5, tta, weights: [1, 2, 1], batchSize: 2 };
      const r = await inferEnsemble(img, w, h, contourRunner(fg, ct), options);
      const plain = await inferEnsemble(img, w, h, pixelRunner(fg), options);
      expect(plain.contour).toBeNull();
      for (let i = 0; i < img.length; i++) {
        const v = img[i]!;
        expect(r.contour![i]).toBeCloseTo((v / 3 + (2 * 2 * v) / 3 + v) / 4, 5);
        expect(r.statistics.mean[i]).toBeCloseTo(plain.statistics.mean[i]!, 6);
      }
    }
  });

  it('names the member that returns the wrong number of values', async () => {
    const runner = contourRunner([(v) => v], () => 0);
    const bad: EnsembleRunner = { ...runner, predict: async (_i, tiles) => tiles.slice() };
    await expect(
      inferEnsemble(image(16, 16), 16, 16, bad, { tiling, multiple: 8, threshold: 0.5 }),
    ).rejects.toThrow(/member m0.*2 channels/);
  });

  it('keeps the adaptive mode exact for the contour under the mask too, settling only background windows', async () => {
    const w = 150;
    const h = 110;
    // Sparse bright discs on a dark background; member outputs depend on the position in the tile.
    const img = Float32Array.from({ length: w * h }, (_, i) => {
      const x = i % w;
      const y = Math.floor(i / w);
      return (x - 30) ** 2 + (y - 25) ** 2 < 144 || (x - 100) ** 2 + (y - 70) ** 2 < 225 ? 0.9 : 0.1;
    });
    const wobble = (x: number, y: number, m: number) =>
      0.15 * Math.sin(m * 1.7 + x / 5) * Math.cos(y / 7 + m);
    const fg = Array.from(
      { length: 7 },
      () => (v: number, x: number, y: number, m: number) => Math.min(1, Math.max(0, v + wobble(x, y, m))),
    );
    const ct = (_v: number, x: number, y: number, m: number) =>
      Math.min(1, Math.max(0, 0.5 + wobble(y, x, m)));
    const runner = contourRunner(fg, ct);
    const common = { tiling: { tile: 48, halo: 8, blend: 'gaussian' as const }, multiple: 8, threshold: 0.5 };
    const full = await inferEnsemble(img, w, h, runner, common);
    const fast = await inferEnsemble(img, w, h, runner, { ...common, adaptive: 'exact' });
    const maskFull = aggregate(full.statistics, 'mean', 0.5).mask;
    const maskFast = aggregate(fast.statistics, 'mean', 0.5).mask;
    expect(Array.from(maskFast)).toEqual(Array.from(maskFull));
    let foreground = 0;
    for (let i = 0; i < maskFull.length; i++) {
      if (!maskFull[i]) continue;
      foreground++;
      expect(fast.contour![i]).toBeCloseTo(full.contour![i]!, 5);
    }
    expect(foreground).toBeGreaterThan(500);
    expect(fast.evaluations).toBeLessThan(full.evaluations);
  });

  it('runs TF.js members with a contour head as two-channel members', async () => {
    const cfg = {
      depth: 2,
      baseFilters: 2,
      batchNorm: false,
      upsampling: 'transpose' as const,
      inputChannels: 1 as const,
    };
    const models = [buildUNet({ ...cfg, contour: true }, 1), buildUNet({ ...cfg, contour: true }, 2)];
    const runner = tfEnsembleRunner(models, [
      { id: 'a', mode: 'x' },
      { id: 'b', mode: 'x' },
    ]);
    expect(runner.channels).toBe(2);
    const r = await inferEnsemble(image(20, 12), 20, 12, runner, { tiling, multiple: 4, threshold: 0.5 });
    expect(r.contour).toHaveLength(240);
    for (const v of r.contour!) expect(v).toBeGreaterThanOrEqual(0);
    const mixed = [models[0]!, buildUNet(cfg, 3)];
    expect(() =>
      tfEnsembleRunner(mixed, [
        { id: 'a', mode: 'x' },
        { id: 'c', mode: 'x' },
      ]),
    ).toThrow(/output channels/);
    for (const m of [...models, mixed[1]!]) m.dispose();
  });
});

describe('segmentImage timings', () => {
  it('splits the time between normalisation, members, blending, aggregation and post-processing', async () => {
    const w = 80;
    const h = 70;
    const data = Uint16Array.from({ length: w * h }, (_, i) => ((i * 7919) % 4001) * 10);
    const calls: number[] = [];
    const slow = pixelRunner([(v) => v, (v) => 1 - v], calls);
    const predict = slow.predict.bind(slow);
    // Each member call takes at least 5 ms on the clock segmentImage reads (performance.now: Date.now's whole
    // milliseconds would allow just over 4), so the members' share has a known floor.
    slow.predict = async (...args) => {
      const until = performance.now() + 5;
      while (performance.now() < until);
      return predict(...args);
    };
    const spec = {
      architecture: { depth: 3, baseFilters: 4, batchNorm: false, upsampling: 'transpose', inputChannels: 1 },
      input: { channels: 1, normalization: { kind: 'percentile', low: 1, high: 99.8, clip: true } },
      tiling,
      aggregation: { rule: 'mean', threshold: 0.5 },
      postprocess: { fillHoles: true, minArea: 0 },
    } as const;
    const image = { width: w, height: h, channels: 1, bitDepth: 16, sampleFormat: 'uint', data } as const;
    const started = performance.now();
    const seg = await segmentImage(image, spec, slow, { batchSize: 2 });
    const elapsed = performance.now() - started;
    const t = seg.timings;
    expect(calls.length).toBeGreaterThan(1);
    expect(t.members).toBeGreaterThanOrEqual(5 * calls.length - 0.01);
    for (const v of Object.values(t)) expect(v).toBeGreaterThanOrEqual(0);
    const sum = t.normalize + t.members + t.blend + t.aggregate + t.postprocess;
    expect(sum).toBeLessThanOrEqual(elapsed + 1);
    expect(sum).toBeGreaterThan(0.8 * elapsed - 2);
    // The normalised image the members saw comes back (the browser shows it instead of normalising twice).
    expect(seg.normalized).toEqual(normalizePercentile(imageToFloat(image), spec.input.normalization));
  });
});
