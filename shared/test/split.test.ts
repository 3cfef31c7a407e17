import { describe, expect, it } from 'vitest';
import { QuorumInputError } from '../src/errors';
import {
  distanceTransform,
  labelComponents,
  type Mask,
  postprocess,
  type SplitSpec,
  splitTouching,
} from '../src/postprocess';
import { gaussianBlur } from '../src/postprocess/gaussian';
import { wasmGaussianBlur } from '../src/postprocess/gaussian-wasm';
import { setPipelineKernels } from '../src/wasm/pipeline';

const SPEC: SplitSpec = { method: 'distance-watershed', h: 0.5, sigma: 1 };

function disks(width: number, height: number, list: [number, number, number][]): Mask {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (list.some(([cx, cy, r]) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r)) data[y * width + x] = 1;
  return { width, height, data };
}

function expectCovers(mask: Mask, labels: Uint32Array): void {
  for (let i = 0; i < labels.length; i++) expect(labels[i] !== 0).toBe(mask.data[i] !== 0);
}

describe('splitTouching', () => {
  it('separates two touching nuclei that connected components merge', () => {
    const mask = disks(60, 40, [
      [18, 20, 10],
      [38, 20, 11],
    ]);
    expect(labelComponents(mask).count).toBe(1);
    const split = splitTouching(mask, SPEC);
    expect(split.count).toBe(2);
    expectCovers(mask, split.labels.data);
    // Each disk's centre is in a different object, and the cut runs near the neck (x = 28).
    const left = split.labels.data[20 * 60 + 18]!;
    const right = split.labels.data[20 * 60 + 38]!;
    expect(left).not.toBe(right);
    expect(split.labels.data[20 * 60 + 24]).toBe(left);
    expect(split.labels.data[20 * 60 + 32]).toBe(right);
  });

  it('leaves a single round nucleus whole, and numbers objects in raster order', () => {
    const mask = disks(50, 50, [
      [12, 12, 6],
      [35, 30, 9],
    ]);
    const split = splitTouching(mask, SPEC);
    expect(split.count).toBe(2);
    expect(split.labels.data[12 * 50 + 12]).toBe(1);
    expect(split.labels.data[30 * 50 + 35]).toBe(2);
  });

  it('keeps every pixel of a component that has no marker (h above its depth)', () => {
    const mask = disks(30, 30, [[15, 15, 2]]);
    const split = splitTouching(mask, { method: 'distance-watershed', h: 50, sigma: 0 });
    expect(split.count).toBe(1);
    expectCovers(mask, split.labels.data);
  });

  it('handles empty, all-foreground and one-pixel masks', () => {
    expect(splitTouching({ width: 8, height: 8, data: new Uint8Array(64) }, SPEC).count).toBe(0);
    const full = { width: 8, height: 5, data: new Uint8Array(40).fill(1) };
    expect(distanceTransform(full).data.every((d) => d === 13)).toBe(true);
    expect(splitTouching(full, SPEC).count).toBe(1);
    expect(splitTouching({ width: 1, height: 1, data: Uint8Array.of(1) }, SPEC).count).toBe(1);
  });

  it.each([
    [{ ...SPEC, h: 0 }, 'split.h'],
    [{ ...SPEC, h: Number.NaN }, 'split.h'],
    [{ ...SPEC, sigma: -1 }, 'split.sigma'],
    [{ ...SPEC, method: 'magic' as 'distance-watershed' }, 'split.method'],
  ])('refuses %o naming %s', (spec, subject) => {
    const mask = disks(10, 10, [[5, 5, 3]]);
    expect(() => splitTouching(mask, spec)).toThrow(QuorumInputError);
    expect(() => splitTouching(mask, spec)).toThrow(subject);
  });

  it('is what postprocess uses when the spec asks for it, before the area filter', () => {
    const mask = disks(60, 40, [
      [18, 20, 10],
      [38, 20, 11],
    ]);
    const prob = { width: 60, height: 40, data: Float32Array.from(mask.data, (v) => (v ? 0.9 : 0.1)) };
    const plain = postprocess(prob, { threshold: 0.5, fillHoles: true, minArea: 8 });
    const split = postprocess(prob, { threshold: 0.5, fillHoles: true, minArea: 8, split: SPEC });
    expect(plain.count).toBe(1);
    expect(split.count).toBe(2);
    expect(split.objects.map((o) => o.area).reduce((a, b) => a + b)).toBe(plain.objects[0]!.area);
    expect(split.mask.data).toEqual(plain.mask.data);
  });
});

describe('splitTouching by probability', () => {
  const SEEDED: SplitSpec = { method: 'probability-watershed', seed: 0.8 };
  /** Two nuclei whose thresholded mask merged into one rectangle without a neck; the probability dips between. */
  function mergedPair(dip: number) {
    const width = 40;
    const height = 20;
    const mask: Mask = { width, height, data: new Uint8Array(width * height) };
    const probability = { width, height, data: new Float32Array(width * height) };
    for (let y = 4; y < 16; y++)
      for (let x = 4; x < 36; x++) {
        mask.data[y * width + x] = 1;
        // Peaks of 0.95 at x = 12 and x = 28, falling linearly to `dip` at x = 20.
        const d = Math.min(Math.abs(x - 12), Math.abs(x - 28));
        probability.data[y * width + x] = x > 12 && x < 28 ? 0.95 - ((0.95 - dip) * d) / 8 : 0.95 - d * 0.01;
      }
    return { mask, probability };
  }

  it('parts objects along the probability valley where the distance watershed cannot', () => {
    const { mask, probability } = mergedPair(0.6);
    expect(splitTouching(mask, SPEC).count).toBe(1); // a rectangle has one distance ridge
    const split = splitTouching(mask, SEEDED, { probability });
    expect(split.count).toBe(2);
    expectCovers(mask, split.labels.data);
    const at = (x: number) => split.labels.data[10 * 40 + x]!;
    expect(at(8)).toBe(at(19));
    expect(at(21)).toBe(at(32));
    expect(at(19)).not.toBe(at(21));
  });

  it('keeps an object whole when its valley stays above the seed level, or when no pixel reaches it', () => {
    const { mask, probability } = mergedPair(0.85);
    expect(splitTouching(mask, SEEDED, { probability }).count).toBe(1);
    const faint = { ...probability, data: probability.data.map((p) => (p > 0 ? 0.6 : 0)) };
    const whole = splitTouching(mask, SEEDED, { probability: faint });
    expect(whole.count).toBe(1);
    expectCovers(mask, whole.labels.data);
  });

  it('needs the probability map, of the same size as the mask, and a seed inside (0, 1)', () => {
    const { mask, probability } = mergedPair(0.6);
    expect(() => splitTouching(mask, SEEDED)).toThrow(/probability map/);
    expect(() =>
      splitTouching(mask, SEEDED, { probability: { width: 10, height: 10, data: new Float32Array(100) } }),
    ).toThrow(QuorumInputError);
    expect(() => splitTouching(mask, { method: 'probability-watershed', seed: 1 }, { probability })).toThrow(
      /seed/,
    );
  });

  it('with a core level, takes the distance maxima of the confident core: one marker per nucleus', () => {
    const { mask, probability } = mergedPair(0.55);
    const cored: SplitSpec = { method: 'distance-watershed', h: 0.25, sigma: 1, core: 0.6 };
    expect(splitTouching(mask, { ...cored, core: undefined }).count).toBe(1);
    const split = splitTouching(mask, cored, { probability });
    expect(split.count).toBe(2);
    expectCovers(mask, split.labels.data);
    const at = (x: number) => split.labels.data[10 * 40 + x]!;
    expect(at(8)).not.toBe(at(32));
    // Below the dip the core is the whole mask again: one object, as without a core.
    expect(splitTouching(mask, { ...cored, core: 0.5 }, { probability }).count).toBe(1);
    expect(() => splitTouching(mask, cored)).toThrow(/probability map/);
    expect(() => splitTouching(mask, { ...cored, core: 1 }, { probability })).toThrow(/core/);
  });

  it('is what postprocess uses, flooding the map it thresholded', () => {
    const { mask, probability } = mergedPair(0.6);
    const prob = { ...probability, data: probability.data.map((p, i) => (mask.data[i] ? p : 0.1)) };
    const out = postprocess(prob, { threshold: 0.5, fillHoles: true, minArea: 0, split: SEEDED });
    expect(out.count).toBe(2);
  });
});

describe('splitTouching by contour', () => {
  const CONTOURED: SplitSpec = { method: 'contour-watershed', core: 0.5 };
  /** Two nuclei merged into one rectangle without a neck; the learnt contour runs along x = 19..20 between them. */
  function contouredPair(ridge: number) {
    const width = 40;
    const height = 20;
    const mask: Mask = { width, height, data: new Uint8Array(width * height) };
    const contour = { width, height, data: new Float32Array(width * height) };
    for (let y = 4; y < 16; y++)
      for (let x = 4; x < 36; x++) {
        mask.data[y * width + x] = 1;
        const edge = y === 4 || y === 15 || x === 4 || x === 35;
        contour.data[y * width + x] = edge ? 0.9 : x === 19 || x === 20 ? ridge : 0.05;
      }
    return { mask, contour };
  }

  it('parts objects along the learnt contour, giving every mask pixel a label', () => {
    const { mask, contour } = contouredPair(0.8);
    expect(splitTouching(mask, SPEC).count).toBe(1);
    const split = splitTouching(mask, CONTOURED, { contour });
    expect(split.count).toBe(2);
    expectCovers(mask, split.labels.data);
    const at = (x: number) => split.labels.data[10 * 40 + x]!;
    expect(at(5)).toBe(at(19));
    expect(at(20)).toBe(at(34));
    expect(at(19)).not.toBe(at(20));
  });

  it('keeps the object whole when the contour between stays under the core level', () => {
    const { mask, contour } = contouredPair(0.3);
    expect(splitTouching(mask, CONTOURED, { contour }).count).toBe(1);
  });

  it('needs the contour map and a core level inside (0, 1)', () => {
    const { mask, contour } = contouredPair(0.8);
    expect(() => splitTouching(mask, CONTOURED)).toThrow(/contour map.*contour output/);
    expect(() => splitTouching(mask, { method: 'contour-watershed', core: 0 }, { contour })).toThrow(/core/);
  });

  it('is what postprocess uses when given the contour map', () => {
    const { mask, contour } = contouredPair(0.8);
    const prob = { width: 40, height: 20, data: Float32Array.from(mask.data, (m) => (m ? 0.9 : 0.1)) };
    const out = postprocess(
      prob,
      { threshold: 0.5, fillHoles: true, minArea: 0, split: CONTOURED },
      {},
      contour,
    );
    expect(out.count).toBe(2);
    expect(() =>
      postprocess(prob, { threshold: 0.5, fillHoles: true, minArea: 0, split: CONTOURED }),
    ).toThrow(/contour/);
  });
});

describe('the Gaussian blur in WebAssembly', () => {
  let seed = 11;
  const rnd = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };

  it('gives the JS passes’ result to the bit: any size (odd, narrower or shorter than the kernel), any sigma', () => {
    const sizes = [
      [1, 1],
      [2, 3],
      [3, 2],
      [7, 5],
      [9, 40],
      [64, 7],
      [301, 123],
    ] as const;
    for (const [w, h] of sizes) {
      for (const sigma of [0.5, 1, 1.5, 3]) {
        const map = { width: w, height: h, data: Float64Array.from({ length: w * h }, () => rnd() * 9 - 1) };
        setPipelineKernels('js');
        const js = gaussianBlur(map, sigma).data;
        setPipelineKernels('auto');
        const kernel = gaussianBlur(map, sigma).data;
        expect(Array.from(kernel)).toEqual(Array.from(js));
      }
    }
  });

  it('runs in this runtime, over several bands on a tall image', () => {
    const [w, h] = [1500, 1200];
    const map = { width: w, height: h, data: Float64Array.from({ length: w * h }, () => rnd()) };
    const kernel = new Float64Array([0.25, 0.5, 0.25]);
    const fast = wasmGaussianBlur(map.data, w, h, kernel, (i, n) =>
      i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i,
    );
    expect(fast).not.toBeNull();
    setPipelineKernels('js');
    const js = gaussianBlur(map, 0.2).data;
    setPipelineKernels('auto');
    expect(gaussianBlur(map, 0.2).data).toEqual(js);
  });
});
