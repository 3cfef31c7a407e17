import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_NORMALIZATION,
  DEFAULT_UNET,
  type EnsembleRunner,
  type SegmentationSpec,
} from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import type { LoadedSample } from '../src/data/dataset';
import type { TrainedEnsemble } from '../src/ensemble/out-of-fold';
import {
  chooseSplit,
  evenSample,
  parseSplitFlag,
  resolveSplit,
  type SplitChoice,
  type TuningImage,
  trainingMaskImage,
} from '../src/ensemble/tune-split';

type Disk = [number, number, number];

/** Instance labels of the given disks (a later disk overwrites an earlier one where they overlap). */
function disks(width: number, height: number, list: Disk[], ids = list.map((_, k) => k + 1)): Uint32Array {
  const labels = new Uint32Array(width * height);
  list.forEach(([cx, cy, r], k) => {
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) labels[y * width + x] = ids[k]!;
  });
  return labels;
}

/**
 * A training sample whose instances are `list`; its raw image is `predicted` (0/255) when given, so a model that
 * passes its input through "predicts" exactly that foreground.
 */
function sample(
  id: string,
  width: number,
  height: number,
  list: Disk[],
  predicted?: Uint8Array,
): LoadedSample {
  const labels = disks(width, height, list);
  const mask = Uint8Array.from(labels, (v) => (v ? 1 : 0));
  const data = Uint8Array.from(predicted ?? mask, (v) => (v ? 255 : 0));
  const raw = { width, height, channels: 1, bitDepth: 8 as const, sampleFormat: 'uint' as const, data };
  return { id, width, height, labels, mask, raw, image: new Float32Array(0) };
}

const touching = (id: string) =>
  sample(id, 64, 64, [
    [20, 32, 11],
    [41, 32, 11],
  ]);
const apart = (id: string) =>
  sample(id, 64, 64, [
    [14, 14, 8],
    [46, 46, 8],
  ]);

/** Two nuclei a pixel apart in the truth, which a model merges by filling the gap between them. */
const PAIR: Disk[] = [
  [20, 24, 10],
  [42, 24, 10],
];
function merged(width: number, height: number): Uint8Array {
  const m = Uint8Array.from(disks(width, height, PAIR), (v) => (v ? 1 : 0));
  for (let y = 20; y <= 28; y++) for (let x = 28; x <= 34; x++) m[y * width + x] = 1;
  return m;
}
const predictedPair = (id: string, width: number) => sample(id, width, 48, PAIR, merged(width, 48));
const predictedImage = (s: LoadedSample): TuningImage => ({
  mask: { width: s.width, height: s.height, data: Uint8Array.from(s.raw.data, (v) => (v ? 1 : 0)) },
  truth: { width: s.width, height: s.height, data: s.labels },
});

describe('chooseSplit on training masks', () => {
  it('splits when the training masks hold touching nuclei, and records every candidate', () => {
    const choice = chooseSplit([touching('a'), touching('b')].map(trainingMaskImage));
    expect(choice.chosen?.method).toBe('distance-watershed');
    // Connected components merge each pair into one object: at most one of the two can still match.
    expect(choice.scores[0]!.split).toBeNull();
    expect(choice.scores[0]!.objectF1).toBeLessThanOrEqual(2 / 3);
    expect(choice.scores).toHaveLength(13);
    expect(Math.max(...choice.scores.map((s) => s.objectF1))).toBe(1);
  });

  it('keeps connected components when objects do not touch (no candidate gains enough)', () => {
    expect(chooseSplit([apart('a'), apart('b')].map(trainingMaskImage)).chosen).toBeNull();
  });
});

describe('chooseSplit on predicted masks', () => {
  it('splits what the model merged, although the training masks alone would keep connected components', () => {
    const s = predictedPair('p', 64);
    expect(chooseSplit([trainingMaskImage(s)]).chosen).toBeNull();
    const choice = chooseSplit([predictedImage(s)]);
    expect(choice.scores[0]!.objectF1).toBe(0);
    expect(choice.chosen).not.toBeNull();
    expect(choice.scores.find((c) => c.split === choice.chosen)!.objectF1).toBe(1);
  });

  it('picks the candidate that is best by construction: the least smoothing that keeps a waisted nucleus whole', () => {
    // One nucleus with two equally high distance maxima (a shallow waist) next to a merged pair: every candidate
    // splits the pair, but only sigma >= 1.5 smooths the waist away, so the first of those wins.
    const width = 96;
    const height = 48;
    const truth = disks(width, height, [...PAIR, [70, 24, 10], [78, 24, 10]], [1, 2, 3, 3]);
    const mask = merged(width, height);
    for (let i = 0; i < mask.length; i++) if (truth[i] === 3) mask[i] = 1;
    const choice = chooseSplit([
      { mask: { width, height, data: mask }, truth: { width, height, data: truth } },
    ]);
    const top = Math.max(...choice.scores.map((s) => s.objectF1));
    expect(top).toBe(1);
    expect(choice.chosen).toEqual(choice.scores.find((s) => s.objectF1 === top)!.split);
    expect(choice.chosen).toEqual({ method: 'distance-watershed', h: 0.5, sigma: 1.5 });
    for (const s of choice.scores.filter((c) => !c.split || c.split.sigma < 1.5))
      expect(s.objectF1).toBeLessThan(1);
  });

  it('drops objects under minArea after labelling, as the product does', () => {
    const s = predictedPair('p', 64);
    const image = predictedImage(s);
    image.mask.data[2 * 64 + 2] = 1; // a one-pixel speck: a false object unless the area filter removes it
    expect(chooseSplit([image]).scores[1]!.objectF1).toBeLessThan(1);
    expect(chooseSplit([image], 8).scores[1]!.objectF1).toBe(1);
  });
});

describe('evenSample', () => {
  it('takes every k-th item, k the smallest that keeps every budget', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    expect(evenSample(items, [{ cost: () => 1, limit: 3 }])).toEqual([0, 4, 8]);
    expect(evenSample(items, [{ cost: () => 1, limit: 10 }])).toEqual(items);
    expect(
      evenSample(items, [
        { cost: () => 1, limit: 10 },
        { cost: () => 10, limit: 50 },
      ]),
    ).toEqual([0, 2, 4, 6, 8]);
  });
});

describe('resolveSplit', () => {
  const spec: SegmentationSpec = {
    architecture: { ...DEFAULT_UNET, depth: 2 },
    input: { channels: 1, normalization: DEFAULT_NORMALIZATION },
    tiling: { tile: 128, halo: 8, blend: 'gaussian' },
    aggregation: { rule: 'mean', threshold: 0.5 },
    postprocess: { fillHoles: true, minArea: 8 },
  };
  // Two modes x two folds. Images are narrower than a tile and each has its own width, so the tile width a member
  // is called with says which image it is predicting.
  const samples = [
    predictedPair('a0', 64),
    predictedPair('a1', 72),
    predictedPair('b0', 80),
    predictedPair('b1', 88),
  ];
  const records = [
    { id: 'A-f0', trainIds: ['a1'] },
    { id: 'A-f1', trainIds: ['a0'] },
    { id: 'B-f0', trainIds: ['b1'] },
    { id: 'B-f1', trainIds: ['b0'] },
  ];

  /** Members pass their input through, barely past the threshold, so the adaptive mode must run every one. */
  function fakeEnsemble(trainIds: string[][]) {
    const calls = new Set<string>();
    let disposed = false;
    const runner: EnsembleRunner = {
      members: records.map((r) => ({ id: r.id, mode: r.id[0]! })),
      predict: async (index, tiles, _count, _h, w) => {
        calls.add(`${w}:${records[index]!.id}`);
        return tiles.map((v) => 0.45 + 0.1 * v);
      },
    };
    const ensemble: TrainedEnsemble = {
      records: records.map((r, i) => ({ id: r.id, trainIds: trainIds[i]! })),
      runner,
      spec,
      dispose: () => {
        disposed = true;
      },
    };
    return { ensemble, calls, disposed: () => disposed };
  }

  const resolve = async (
    ensemble: () => Promise<TrainedEnsemble | { unavailable: string }>,
    options: { flag?: ReturnType<typeof parseSplitFlag>; maxOutOfFoldPixels?: number } = {},
  ) => {
    const outDir = mkdtempSync(join(tmpdir(), 'quorum-split-'));
    const log: string[] = [];
    const r = await resolveSplit(options.flag === undefined ? 'auto' : options.flag, {
      trainSamples: () => samples,
      ensemble,
      outDir,
      log: (s) => log.push(s),
      ...(options.maxOutOfFoldPixels ? { maxOutOfFoldPixels: options.maxOutOfFoldPixels } : {}),
    });
    return { ...r, log, outDir };
  };

  it('chooses on out-of-fold predictions: each image only through the members that never trained on it', async () => {
    const fake = fakeEnsemble(records.map((r) => r.trainIds));
    const r = await resolve(async () => fake.ensemble);
    expect(r.choice!.source).toBe('out-of-fold predictions');
    expect(r.split).not.toBeNull(); // the merged predictions need splitting; the training masks alone would not
    expect(r.choice!.imageIds).toEqual(['a0', 'a1', 'b0', 'b1']);
    expect(r.choice!.members!['a0']).toEqual(['A-f0', 'B-f0', 'B-f1']);
    const expected = (width: number, members: string[]) => members.map((m) => `${width}:${m}`);
    expect([...fake.calls].sort()).toEqual(
      [
        ...expected(64, ['A-f0', 'B-f0', 'B-f1']),
        ...expected(72, ['A-f1', 'B-f0', 'B-f1']),
        ...expected(80, ['A-f0', 'A-f1', 'B-f0']),
        ...expected(88, ['A-f0', 'A-f1', 'B-f1']),
      ].sort(),
    );
    expect(fake.disposed()).toBe(true);
    const saved = JSON.parse(readFileSync(join(r.outDir, 'split-choice.json'), 'utf8')) as SplitChoice;
    expect(saved).toEqual(r.choice);
    expect(r.note).toMatch(
      /chosen on out-of-fold ensemble predictions for 4 training images \(each the mean of only the 3 members that never trained on it\)/,
    );
  });

  it('leaves out images every member trained on, and samples within the inference budget', async () => {
    const fake = fakeEnsemble(records.map(() => ['b0']));
    // a0, a1 and b1 remain, each predicted by all 4 members; the budget holds 3 images of 64x48 through 4 members.
    const r = await resolve(async () => fake.ensemble, { maxOutOfFoldPixels: 3 * 4 * 64 * 48 });
    expect(r.choice!.skipped).toEqual(['b0']);
    expect(r.choice!.imageIds).toEqual(['a0', 'b1']); // every 2nd of a0, a1, b1
    expect([...fake.calls].some((c) => c.startsWith('80:'))).toBe(false);
    expect(r.note).toMatch(/1 training image\(s\) every member trained on were left out/);
  });

  it('falls back to the training masks when no image has an out-of-fold member', async () => {
    const fake = fakeEnsemble(records.map(() => ['a0', 'a1', 'b0', 'b1']));
    const r = await resolve(async () => fake.ensemble);
    expect(r.choice!.source).toBe('training masks');
    expect(r.choice!.fallback).toBe('every member trained on every training image');
    expect(r.choice!.skipped).toEqual(['a0', 'a1', 'b0', 'b1']);
    expect(fake.calls.size).toBe(0);
    expect(fake.disposed()).toBe(true);
    expect(r.split).toBeNull(); // the true nuclei do not touch
    expect(r.note).toMatch(/chosen on the 4 training masks alone, as no out-of-fold prediction was possible/);
  });

  it('falls back to the training masks when members are missing, and says so', async () => {
    const r = await resolve(async () => ({ unavailable: '1 of 4 members not trained (B-f1)' }));
    expect(r.choice!.source).toBe('training masks');
    expect(r.note).toMatch(/\(1 of 4 members not trained \(B-f1\)\)/);
  });

  it('does not load the ensemble for --split none or explicit parameters', async () => {
    const never = async (): Promise<TrainedEnsemble> => {
      throw new Error('loaded');
    };
    expect((await resolve(never, { flag: null })).split).toBeNull();
    const fixed = await resolve(never, { flag: parseSplitFlag('h=1,sigma=1.5') });
    expect(fixed.split).toEqual({ method: 'distance-watershed', h: 1, sigma: 1.5 });
    expect(fixed.note).toMatch(/set with --split/);
  });
});

describe('parseSplitFlag', () => {
  it('reads auto, none and explicit parameters', () => {
    expect(parseSplitFlag(undefined)).toBe('auto');
    expect(parseSplitFlag('none')).toBeNull();
    expect(parseSplitFlag('h=1.5,sigma=0')).toEqual({ method: 'distance-watershed', h: 1.5, sigma: 0 });
  });
});
