import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuorumInputError } from '../src/errors';
import { BlendAccumulator, extractWindow, planTiles, reflectIndex, windowWeights } from '../src/tiling';

const ramp = (w: number, h: number) =>
  Float32Array.from({ length: w * h }, (_, i) => (i % w) * 0.25 + Math.floor(i / w) * 1.5);

function reassemble(
  img: Float32Array,
  w: number,
  h: number,
  tile: number,
  halo: number,
  kind: 'gaussian' | 'taper',
) {
  const plan = planTiles(w, h, { tile, halo, multiple: 8 });
  const acc = new BlendAccumulator(plan, 1, kind);
  const buf = new Float32Array(plan.tileWidth * plan.tileHeight);
  for (const win of plan.windows) acc.add(win, [extractWindow(img, plan, win, buf)]);
  return { plan, out: acc.finish()[0]! };
}

describe('tile plan', () => {
  it('covers every pixel, keeps windows inside large axes and aligned to the size multiple', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 20 }),
        (w, h, t8, halo) => {
          const tile = t8 * 8 * 4;
          fc.pre(2 * halo < tile);
          const plan = planTiles(w, h, { tile, halo, multiple: 8 });
          expect(plan.tileWidth % 8).toBe(0);
          expect(plan.tileHeight % 8).toBe(0);
          expect(plan.tileWidth).toBeLessThanOrEqual(tile);
          const covered = new Uint8Array(w * h);
          for (const win of plan.windows) {
            expect(win.x).toBeGreaterThanOrEqual(0);
            expect(win.y).toBeGreaterThanOrEqual(0);
            if (w > plan.tileWidth) expect(win.x + plan.tileWidth).toBeLessThanOrEqual(w);
            if (h > plan.tileHeight) expect(win.y + plan.tileHeight).toBeLessThanOrEqual(h);
            for (let y = win.y; y < Math.min(h, win.y + plan.tileHeight); y++)
              for (let x = win.x; x < Math.min(w, win.x + plan.tileWidth); x++) covered[y * w + x] = 1;
          }
          expect(covered.every((c) => c === 1)).toBe(true);
          // Neighbours overlap by at least 2*halo, so every pixel of a large axis has halo context on both sides.
          const xs = [...new Set(plan.windows.map((win) => win.x))].sort((a, b) => a - b);
          for (let i = 1; i < xs.length; i++)
            expect(xs[i - 1]! + plan.tileWidth - xs[i]!).toBeGreaterThanOrEqual(2 * halo);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('spreads the fewest windows evenly from edge to edge, each only as long as that count needs', () => {
    const plan = planTiles(300, 64, { tile: 128, halo: 16, multiple: 16 });
    expect(plan.windows.map((w) => w.x)).toEqual([0, 86, 172]);
    expect(plan.tileHeight).toBe(64);
    // 2048 px in windows of at most 512 with halo 16 needs five; five of 440 px cover it with overlaps >= 32.
    const big = planTiles(2048, 2048, { tile: 512, halo: 16, multiple: 8 });
    expect([big.tileWidth, big.tileHeight]).toEqual([440, 440]);
    expect([...new Set(big.windows.map((w) => w.x))]).toEqual([0, 402, 804, 1206, 1608]);
    expect(big.windows).toHaveLength(25);
    // When full windows fit exactly, they are what it uses.
    const exact = planTiles(2048, 256, { tile: 256, halo: 16, multiple: 8 });
    expect(exact.tileWidth).toBe(256);
    expect(exact.windows.map((w) => w.x)).toEqual([0, 224, 448, 672, 896, 1120, 1344, 1568, 1792]);
  });

  it('rejects a tile that is not a multiple, a halo too wide, and an empty image', () => {
    expect(() => planTiles(10, 10, { tile: 100, halo: 0, multiple: 16 })).toThrow(
      /tiling\.tile: 100 is not a positive multiple of 16/,
    );
    expect(() => planTiles(10, 10, { tile: 64, halo: 32, multiple: 16 })).toThrow(/tiling\.halo/);
    expect(() => planTiles(0, 10, { tile: 64, halo: 0, multiple: 16 })).toThrow(QuorumInputError);
  });
});

describe('reflect padding', () => {
  it('mirrors without repeating the edge, for any offset', () => {
    expect([-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7].map((i) => reflectIndex(i, 4))).toEqual([
      3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1,
    ]);
    expect(reflectIndex(5, 1)).toBe(0);
  });

  it('pads an image smaller than the tile by reflection', () => {
    const img = Float32Array.from([1, 2, 3, 4, 5, 6]); // 3x2
    const plan = planTiles(3, 2, { tile: 64, halo: 0, multiple: 4 });
    expect([plan.tileWidth, plan.tileHeight]).toEqual([4, 4]);
    const win = extractWindow(img, plan, plan.windows[0]!);
    expect(Array.from(win)).toEqual([1, 2, 3, 2, 4, 5, 6, 5, 1, 2, 3, 2, 4, 5, 6, 5]);
  });
});

describe('blending', () => {
  it.each(['gaussian', 'taper'] as const)(
    'reassembles an identity prediction exactly (%s), for any size',
    (kind) => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 200 }),
          fc.integer({ min: 1, max: 200 }),
          fc.integer({ min: 0, max: 15 }),
          (w, h, halo) => {
            const img = ramp(w, h);
            const { out } = reassemble(img, w, h, 64, halo, kind);
            // One expect per image, not per pixel: a million expect calls took most of a minute.
            let worst = 0;
            for (let i = 0; i < img.length; i++)
              worst = Math.max(worst, Math.abs(out[i]! - img[i]!) / (1 + Math.abs(img[i]!)));
            expect(worst).toBeLessThanOrEqual(1e-5);
          },
        ),
        { numRuns: 40 },
      );
    },
  );

  it('hides seams: a prediction that differs per window changes smoothly across the overlap with taper weights', () => {
    const w = 200;
    const plan = planTiles(w, 1, { tile: 64, halo: 16, multiple: 8 });
    const acc = new BlendAccumulator(plan, 1, 'taper');
    // Each window predicts a constant equal to its index: a hard seam without blending.
    for (const [i, win] of plan.windows.entries()) {
      acc.add(win, [new Float32Array(plan.tileWidth * plan.tileHeight).fill(i)]);
    }
    const out = acc.finish()[0]!;
    let maxJump = 0;
    for (let x = 1; x < w; x++) maxJump = Math.max(maxJump, Math.abs(out[x]! - out[x - 1]!));
    // Without blending this is a unit step; blended, it is spread across the overlap (the last window overlaps
    // its neighbour by less than 2*halo, hence not exactly 1/32).
    expect(maxJump).toBeLessThan(0.1);
    expect(out[0]).toBeCloseTo(0, 6);
    expect(out[w - 1]).toBeCloseTo(plan.windows.length - 1, 6);
  });

  it('weights are positive everywhere and peak at the window centre', () => {
    const plan = planTiles(64, 64, { tile: 64, halo: 8, multiple: 8 });
    for (const kind of ['gaussian', 'taper'] as const) {
      const wts = windowWeights(plan, kind);
      expect(Math.min(...wts)).toBeGreaterThan(0);
      expect(wts[32 * 64 + 32]).toBeCloseTo(Math.max(...wts), 6);
    }
  });
});

describe('BlendAccumulator mirrored channels', () => {
  const plan = planTiles(150, 90, { tile: 64, halo: 8, multiple: 8 });
  const px = plan.tileWidth * plan.tileHeight;
  const values = (seed: number) =>
    Float32Array.from({ length: px }, (_, i) => ((i * 7919 + seed * 104729) % 1009) / 1009);

  it('blends to the same bits as a channel accumulated all along, before and after it diverges', () => {
    for (const divergeAt of [0, 3, plan.windows.length, Number.POSITIVE_INFINITY]) {
      const mirrored = new BlendAccumulator(plan, 3, 'gaussian', [[2, 0]]);
      const plain = new BlendAccumulator(plan, 3, 'gaussian');
      plan.windows.forEach((win, k) => {
        const stat = values(k);
        const other = values(k + 100);
        // Until divergeAt, channel 2 gets the very array channel 0 gets; from then on its own values.
        const mine = k >= divergeAt ? values(k + 200) : stat;
        mirrored.add(win, [stat, other, mine]);
        plain.add(win, [stat, other, mine]);
        expect(mirrored.peek(2, 77)).toBe(plain.peek(2, 77));
      });
      // A refinement's deltas make it diverge too.
      mirrored.adjust(plan.windows[1]!, [values(7), values(8), values(9)]);
      plain.adjust(plan.windows[1]!, [values(7), values(8), values(9)]);
      const [a, b] = [mirrored.finish(), plain.finish()];
      for (let c = 0; c < 3; c++) expect(a[c]).toEqual(b[c]);
    }
  });

  it('returns the source channel itself for a channel that mirrored it to the end, and refuses bad pairs', () => {
    const acc = new BlendAccumulator(plan, 2, 'taper', [[1, 0]]);
    for (const win of plan.windows) {
      const v = values(win.x + win.y);
      acc.add(win, [v, v]);
    }
    const out = acc.finish();
    expect(out[1]).toBe(out[0]);
    expect(() => new BlendAccumulator(plan, 2, 'taper', [[1, 1]])).toThrow(/distinct/);
    expect(() => new BlendAccumulator(plan, 2, 'taper', [[2, 0]])).toThrow(/below 2/);
    expect(
      () =>
        new BlendAccumulator(plan, 3, 'taper', [
          [1, 0],
          [2, 1],
        ]),
    ).toThrow(/mirrors another/);
  });
});
