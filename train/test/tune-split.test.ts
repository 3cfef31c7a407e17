import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_NORMALIZATION,
  DEFAULT_UNET,
  type EnsembleRunner,
  labelComponents,
  objectScores,
  removeSmallObjects,
  type SegmentationSpec,
  splitTouching,
} from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import type { LoadedSample } from '../src/data/dataset';
import type { TrainConfig } from '../src/ensemble/config';
import { DEFAULT_MIN_AREA, segmentationSpec } from '../src/ensemble/export';
import type { TrainedEnsemble } from '../src/ensemble/out-of-fold';
import {
  checkSplitFlagFits,
  chooseSplit,
  evenSample,
  filteredF1s,
  MIN_AREA_CANDIDATES,
  MIN_SPLIT_GAIN,
  type OptionScore,
  parseMinAreaFlag,
  parseSplitFlag,
  resolveSplit,
  SPLIT_CANDIDATES,
  type SplitChoice,
  simplestNearBest,
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

/** Candidates training masks can score: connected components' rivals without a probability map. */
const DISTANCE_CANDIDATES = SPLIT_CANDIDATES.filter(
  (c) => c.method === 'distance-watershed' && c.core === undefined,
).length;

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
    const choice = chooseSplit([touching('a'), touching('b')].map(trainingMaskImage), [DEFAULT_MIN_AREA]);
    expect(choice.chosen?.method).toBe('distance-watershed');
    expect(choice.minArea).toBe(DEFAULT_MIN_AREA);
    // Connected components merge each pair into one object: at most one of the two can still match.
    expect(choice.scores[0]!.split).toBeNull();
    expect(choice.scores[0]!.objectF1).toBeLessThanOrEqual(2 / 3);
    expect(choice.scores).toHaveLength(1 + DISTANCE_CANDIDATES);
    expect(Math.max(...choice.scores.map((s) => s.objectF1))).toBe(1);
  });

  it('keeps connected components when objects do not touch (no candidate gains enough)', () => {
    expect(
      chooseSplit([apart('a'), apart('b')].map(trainingMaskImage), [DEFAULT_MIN_AREA]).chosen,
    ).toBeNull();
  });
});

describe('chooseSplit on predicted masks', () => {
  it('splits what the model merged, although the training masks alone would keep connected components', () => {
    const s = predictedPair('p', 64);
    expect(chooseSplit([trainingMaskImage(s)], [DEFAULT_MIN_AREA]).chosen).toBeNull();
    const choice = chooseSplit([predictedImage(s)], [DEFAULT_MIN_AREA]);
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
    const choice = chooseSplit(
      [{ mask: { width, height, data: mask }, truth: { width, height, data: truth } }],
      [DEFAULT_MIN_AREA],
    );
    const top = Math.max(...choice.scores.map((s) => s.objectF1));
    expect(top).toBe(1);
    expect(choice.chosen).toEqual(choice.scores.find((s) => s.objectF1 === top)!.split);
    expect(choice.chosen).toEqual({ method: 'distance-watershed', h: 0.25, sigma: 1.5 });
    for (const s of choice.scores.filter(
      (c) => !c.split || (c.split.method === 'distance-watershed' && c.split.sigma < 1.5),
    ))
      expect(s.objectF1).toBeLessThan(1);
  });

  it('drops objects under minArea after labelling, as the product does', () => {
    const s = predictedPair('p', 64);
    const image = predictedImage(s);
    image.mask.data[2 * 64 + 2] = 1; // a one-pixel speck: a false object unless the area filter removes it
    const { scores } = chooseSplit([image], [0, 8]);
    const f1 = (minArea: number) => scores.find((c) => c.split && c.minArea === minArea)!.objectF1;
    expect(f1(0)).toBeLessThan(1);
    expect(f1(8)).toBe(1);
  });
});

/** Nuclei of radius 4 (49 px) every 12 px, `rows` x `cols`, predicted exactly, with `specks` 3x3 squares (9 px). */
function grid(rows: number, cols: number, specks: [number, number][] = []): TuningImage {
  const width = cols * 12 + 12;
  const height = rows * 12 + 12;
  const list: Disk[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) list.push([12 + 12 * c, 12 + 12 * r, 4]);
  const truth = disks(width, height, list);
  const mask = Uint8Array.from(truth, (v) => (v ? 1 : 0));
  for (const [x, y] of specks)
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) mask[(y + dy) * width + x + dx] = 1;
  return { mask: { width, height, data: mask }, truth: { width, height, data: truth } };
}

describe('choosing the minimum area with the split', () => {
  it('drops specks at 16 px, where that beats every smaller filter and 32 px would lose a small true nucleus', () => {
    // Two 49 px nuclei, a 21 px one (radius 2.5), and specks of 1 and 9 px that touch no nucleus.
    const width = 64;
    const height = 40;
    const truth = disks(width, height, [
      [12, 12, 4],
      [40, 12, 4],
      [26, 28, 2.5],
    ]);
    const mask = Uint8Array.from(truth, (v) => (v ? 1 : 0));
    mask[2 * width + 60] = 1;
    for (let y = 30; y < 33; y++) for (let x = 50; x < 53; x++) mask[y * width + x] = 1;
    const choice = chooseSplit([
      { mask: { width, height, data: mask }, truth: { width, height, data: truth } },
    ]);
    expect(choice.scores).toHaveLength((1 + DISTANCE_CANDIDATES) * MIN_AREA_CANDIDATES.length);
    const cc = (minArea: number) => choice.scores.find((s) => !s.split && s.minArea === minArea)!.objectF1;
    expect(cc(0)).toBeCloseTo(6 / 8); // 3 matches, 2 false specks
    expect(cc(8)).toBeCloseTo(6 / 7); // the 9 px speck survives
    expect(cc(16)).toBe(1);
    expect(cc(32)).toBeCloseTo(4 / 5); // the small nucleus is gone
    expect(choice).toMatchObject({ chosen: null, minArea: 16 });
  });

  it('keeps the smallest minimum area when a larger one gains no more than MIN_SPLIT_GAIN', () => {
    // One 9 px speck among 2 x 30 nuclei costs 1/61 of one image's F1: over 4 images 0.0041 (within the gain),
    // over 2 images 0.0082 (beyond it).
    const speck: [number, number][] = [[0, 0]];
    const four = chooseSplit([grid(5, 6, speck), grid(5, 6), grid(5, 6), grid(5, 6)]);
    const at = (c: ReturnType<typeof chooseSplit>, minArea: number) =>
      c.scores.find((s) => !s.split && s.minArea === minArea)!.objectF1;
    expect(at(four, 16) - at(four, 0)).toBeGreaterThan(0);
    expect(at(four, 16) - at(four, 0)).toBeLessThanOrEqual(MIN_SPLIT_GAIN);
    expect(four).toMatchObject({ chosen: null, minArea: 0 });
    const two = chooseSplit([grid(5, 6, speck), grid(5, 6)]);
    expect(at(two, 16) - at(two, 0)).toBeGreaterThan(MIN_SPLIT_GAIN);
    expect(two).toMatchObject({ chosen: null, minArea: 16 }); // 32 scores as well, but 16 is simpler
  });

  it('keeps the smallest minimum area when every filter scores alike', () => {
    expect(chooseSplit([grid(2, 3), grid(3, 2)])).toMatchObject({ chosen: null, minArea: 0 });
  });

  it('chooses the simplest option within MIN_SPLIT_GAIN of the best, connected components before a watershed', () => {
    const w = (h: number) => ({ method: 'distance-watershed' as const, h, sigma: 1 });
    const o = (split: OptionScore['split'], minArea: number, objectF1: number): OptionScore => ({
      split,
      minArea,
      objectF1,
    });
    // The best is 64 px; 16 px is within the gain of it, 8 px is not.
    expect(simplestNearBest([o(null, 8, 0.7), o(null, 16, 0.797), o(null, 64, 0.8)])).toMatchObject({
      minArea: 16,
    });
    // A watershed must beat connected components by more than the gain...
    expect(simplestNearBest([o(null, 8, 0.7), o(w(1), 0, 0.704)]).split).toBeNull();
    // ...and once it does, the smallest area near the best, among watersheds the best-scoring one.
    expect(
      simplestNearBest([
        o(null, 8, 0.7),
        o(w(1), 0, 0.71),
        o(w(2), 0, 0.712),
        o(w(2), 8, 0.72),
        o(w(1), 16, 0.721),
      ]),
    ).toEqual(o(w(2), 8, 0.72));
  });

  it('scores each minimum area as matching the filtered labels anew would', () => {
    // Random blobs of 1 to ~300 px, some touching, against a truth that shares only some of them.
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const width = 96;
    const height = 96;
    const blobs: Disk[] = Array.from({ length: 40 }, () => [rand() * width, rand() * height, rand() * 10]);
    const truth = disks(
      width,
      height,
      blobs.filter((_, k) => k % 3 !== 0),
    );
    const mask = Uint8Array.from(
      disks(
        width,
        height,
        blobs.filter((_, k) => k % 5 !== 0),
      ),
      (v) => (v ? 1 : 0),
    );
    const areas = [0, 1, 2, 5, 8, 16, 32, 64, 400];
    const t = { width, height, data: truth };
    for (const split of [null, ...SPLIT_CANDIDATES]) {
      // A probability split floods a map; the mask itself (0/1) is one, with every pixel a marker. So is a
      // contour map of zeros for a contour split.
      const probability = { width, height, data: Float32Array.from(mask) };
      const contour = { width, height, data: new Float32Array(mask.length) };
      const labelled = split
        ? splitTouching({ width, height, data: mask }, split, { probability, contour })
        : labelComponents({ width, height, data: mask }, 8);
      const direct = areas.map((m) => objectScores(removeSmallObjects(labelled.labels, m), t, 0.5).f1);
      expect(filteredF1s(labelled, t, areas)).toEqual(direct);
    }
    expect(
      new Set(areas.map((m) => filteredF1s(labelComponents({ width, height, data: mask }, 8), t, [m])[0]))
        .size,
    ).toBeGreaterThan(3);
  });

  it('refuses an empty or negative list of minimum areas', () => {
    expect(() => chooseSplit([grid(1, 1)], [])).toThrow(/minAreas/);
    expect(() => chooseSplit([grid(1, 1)], [-1])).toThrow(/minAreas/);
  });
});

describe('segmentationSpec', () => {
  it('records the minimum area and split it is given, and the default area otherwise', () => {
    const config = {
      architecture: { ...DEFAULT_UNET, depth: 2 },
      normalization: DEFAULT_NORMALIZATION,
      tiling: { tile: 128, halo: 8, blend: 'gaussian' },
    } as TrainConfig;
    const split = { method: 'distance-watershed' as const, h: 0.5, sigma: 1 };
    expect(segmentationSpec(config, 'mean', split, 32).postprocess).toEqual({
      fillHoles: true,
      minArea: 32,
      split,
    });
    expect(segmentationSpec(config, 'mean', null).postprocess).toEqual({
      fillHoles: true,
      minArea: DEFAULT_MIN_AREA,
    });
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
      channels: 1,
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
    options: {
      flag?: ReturnType<typeof parseSplitFlag>;
      maxOutOfFoldPixels?: number;
      minArea?: number;
      samples?: LoadedSample[];
    } = {},
  ) => {
    const outDir = mkdtempSync(join(tmpdir(), 'quorum-split-'));
    const log: string[] = [];
    const r = await resolveSplit(
      options.flag === undefined ? 'auto' : options.flag,
      {
        trainSamples: () => options.samples ?? samples,
        ensemble,
        outDir,
        log: (s) => log.push(s),
        ...(options.maxOutOfFoldPixels ? { maxOutOfFoldPixels: options.maxOutOfFoldPixels } : {}),
      },
      options.minArea,
    );
    return { ...r, log, outDir };
  };

  /** The same pairs, each predicted with a 10 px speck (2 x 5) in its bottom-left corner, which no nucleus touches. */
  const specked = samples.map((s) => {
    const data = Uint8Array.from(s.raw.data);
    for (let y = 40; y < 42; y++) for (let x = 2; x < 7; x++) data[y * s.width + x] = 255;
    return { ...s, raw: { ...s.raw, data } };
  });

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
    // No specks: every minimum area scores alike, so the smallest is kept.
    expect(r.minArea).toBe(0);
    expect(r.choice!.minAreaFrom).toBe('chosen');
    expect(r.note).toMatch(/no object dropped for its size, both chosen on out-of-fold/);
  });

  it('chooses the minimum area with the split on the predictions: 16 px drops the specks the model adds', async () => {
    const fake = fakeEnsemble(records.map((r) => r.trainIds));
    const r = await resolve(async () => fake.ensemble, { samples: specked });
    expect(r.split).not.toBeNull();
    expect(r.minArea).toBe(16);
    const saved = JSON.parse(readFileSync(join(r.outDir, 'split-choice.json'), 'utf8')) as SplitChoice;
    expect(saved).toMatchObject({ minArea: 16, minAreaFrom: 'chosen', chosen: r.split });
    // Members without a contour output: every candidate but the contour splits.
    const scored = SPLIT_CANDIDATES.filter((c) => c.method !== 'contour-watershed').length;
    expect(saved.scores).toHaveLength((1 + scored) * MIN_AREA_CANDIDATES.length);
    const f1 = (minArea: number) => saved.scores.find((s) => s.minArea === minArea && s.split)!.objectF1;
    expect(f1(8)).toBeCloseTo(4 / 5); // both nuclei split and matched, the speck a false object
    expect(f1(16)).toBe(1);
    expect(r.note).toMatch(
      /^Objects: distance watershed .*, objects under 16 px dropped, both chosen on out-of-fold ensemble predictions .*: 1\.000, connected components at the same minimum area 0\.000, the same split at the default 8 px 0\.800;/,
    );
  });

  it('--min-area fixes the area and leaves only the split to choose', async () => {
    const fake = fakeEnsemble(records.map((r) => r.trainIds));
    const r = await resolve(async () => fake.ensemble, { samples: specked, minArea: 4 });
    expect(r.minArea).toBe(4);
    expect(r.choice).toMatchObject({ minArea: 4, minAreaFrom: '--min-area' });
    expect(r.choice!.scores.every((s) => s.minArea === 4)).toBe(true);
    expect(r.note).toMatch(
      /objects under 4 px dropped, chosen on out-of-fold .*; minimum area set with --min-area;/,
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
    // True masks have no specks to tune the area filter on: it stays at the default, scored there only.
    expect(r.minArea).toBe(DEFAULT_MIN_AREA);
    expect(r.choice!.minAreaFrom).toBe('default');
    expect(r.choice!.scores.every((s) => s.minArea === DEFAULT_MIN_AREA)).toBe(true);
    expect(r.note).toMatch(
      /objects under 8 px dropped, chosen on the 4 training masks.*minimum area the default/,
    );
  });

  it('falls back to the training masks when members are missing, and says so', async () => {
    const r = await resolve(async () => ({ unavailable: '1 of 4 members not trained (B-f1)' }));
    expect(r.choice!.source).toBe('training masks');
    expect(r.note).toMatch(/\(1 of 4 members not trained \(B-f1\)\)/);
    expect(r.minArea).toBe(DEFAULT_MIN_AREA);
    const fixed = await resolve(async () => ({ unavailable: 'none' }), { minArea: 24 });
    expect(fixed).toMatchObject({ minArea: 24, choice: { minAreaFrom: '--min-area' } });
  });

  it('does not load the ensemble for --split none or explicit parameters', async () => {
    const never = async (): Promise<TrainedEnsemble> => {
      throw new Error('loaded');
    };
    const none = await resolve(never, { flag: null });
    expect(none).toMatchObject({ split: null, minArea: DEFAULT_MIN_AREA, choice: null });
    expect(none.note).toMatch(/objects under 8 px dropped \(the default\)/);
    const fixed = await resolve(never, { flag: parseSplitFlag('h=1,sigma=1.5'), minArea: 0 });
    expect(fixed.split).toEqual({ method: 'distance-watershed', h: 1, sigma: 1.5 });
    expect(fixed.minArea).toBe(0);
    expect(fixed.note).toMatch(/set with --split\), no object dropped for its size \(set with --min-area\)/);
  });
});

describe('parseMinAreaFlag', () => {
  it('reads a whole number of pixels and names the flag otherwise', () => {
    expect(parseMinAreaFlag(undefined)).toBeUndefined();
    expect(parseMinAreaFlag('0')).toBe(0);
    expect(parseMinAreaFlag('32')).toBe(32);
    for (const bad of ['-1', '1.5', 'x', '', '1e3'])
      expect(() => parseMinAreaFlag(bad)).toThrow(/--min-area: .*want a whole number of pixels >= 0/);
  });
});

describe('parseSplitFlag', () => {
  it('reads auto, none and explicit parameters', () => {
    expect(parseSplitFlag(undefined)).toBe('auto');
    expect(parseSplitFlag('none')).toBeNull();
    expect(parseSplitFlag('h=1.5,sigma=0')).toEqual({ method: 'distance-watershed', h: 1.5, sigma: 0 });
    expect(parseSplitFlag('h=0.25,sigma=1,core=0.6')).toEqual({
      method: 'distance-watershed',
      h: 0.25,
      sigma: 1,
      core: 0.6,
    });
    expect(() => parseSplitFlag('h=0.25,sigma=1,core=1')).toThrow(/--split\.core/);
    expect(parseSplitFlag('seed=0.8')).toEqual({ method: 'probability-watershed', seed: 0.8 });
    expect(parseSplitFlag('contour=0.4')).toEqual({ method: 'contour-watershed', core: 0.4 });
    expect(() => parseSplitFlag('contour=1')).toThrow(/--split\.core/);
  });

  it('refuses a contour split for members without a contour output, naming the flag', () => {
    const arch = {
      depth: 2,
      baseFilters: 4,
      batchNorm: false,
      upsampling: 'transpose' as const,
      inputChannels: 1 as const,
    };
    const contour = parseSplitFlag('contour=0.5');
    expect(() => checkSplitFlagFits(contour, arch)).toThrow(/--split: .*train them with --contour/);
    expect(() => checkSplitFlagFits(contour, { ...arch, contour: true })).not.toThrow();
    expect(() => checkSplitFlagFits('auto', arch)).not.toThrow();
    expect(() => checkSplitFlagFits(parseSplitFlag('h=1,sigma=1'), arch)).not.toThrow();
  });
});

describe('chooseSplit with contour maps', () => {
  /** Two nuclei merged into one neckless rectangle; the members' contour runs between them at x = 19..20. */
  function mergedRectangle(): TuningImage {
    const width = 40;
    const height = 20;
    const mask = new Uint8Array(width * height);
    const truth = new Uint32Array(width * height);
    const contour = new Float32Array(width * height);
    for (let y = 4; y < 16; y++)
      for (let x = 4; x < 36; x++) {
        const i = y * width + x;
        mask[i] = 1;
        truth[i] = x < 20 ? 1 : 2;
        contour[i] = y === 4 || y === 15 || x === 4 || x === 35 || x === 19 || x === 20 ? 0.9 : 0.1;
      }
    return {
      mask: { width, height, data: mask },
      truth: { width, height, data: truth },
      contour: { width, height, data: contour },
    };
  }

  it('scores contour splits only when every image has a contour map, and chooses one where it alone separates', () => {
    const image = mergedRectangle();
    const { contour: _, ...plain } = image;
    const without = chooseSplit([plain], [0]);
    expect(without.scores.some((s) => s.split?.method === 'contour-watershed')).toBe(false);
    expect(without.chosen?.method).not.toBe('contour-watershed');
    const withContour = chooseSplit([image], [0]);
    expect(withContour.chosen?.method).toBe('contour-watershed');
    expect(withContour.scores.find((s) => s.split === withContour.chosen)!.objectF1).toBe(1);
    expect(chooseSplit([image, plain], [0]).scores.some((s) => s.split?.method === 'contour-watershed')).toBe(
      false,
    );
  });
});
