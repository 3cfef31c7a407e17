import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuorumInputError } from '../src/errors';
import {
  createModeBlindPartition,
  createPartition,
  discoverModes,
  imageFeatures,
  kmeans,
  planMembers,
  silhouette,
} from '../src/folds';
import { validatePartition } from '../src/manifest';
import { createRandom } from '../src/random';

const column = { kind: 'column', column: 'acquisition' } as const;

function modeMap(counts: Record<string, number>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [mode, n] of Object.entries(counts)) for (let i = 0; i < n; i++) m.set(`${mode}-${i}`, mode);
  return m;
}

describe('two-step partition', () => {
  it('splits each mode into K folds that cover it exactly once, sizes differing by at most one', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('p1', 'p28', 'x', 'y'), fc.integer({ min: 2, max: 30 }), {
          minKeys: 1,
        }),
        fc.integer({ min: 2, max: 6 }),
        fc.integer(),
        (counts, k, seed) => {
          const modeOf = modeMap(counts);
          const p = createPartition(modeOf, { folds: k, seed, modeSource: column });
          for (const mode of p.modes) {
            const n = counts[mode.name]!;
            expect(mode.folds.length).toBe(Math.min(k, n));
            const all = mode.folds.flat().sort();
            expect(all).toEqual([...modeOf.keys()].filter((id) => modeOf.get(id) === mode.name).sort());
            const sizes = mode.folds.map((f) => f.length);
            expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          }
          expect(validatePartition(JSON.parse(JSON.stringify(p)))).toEqual(p);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is reproducible from its seed and independent of input order, and a different seed changes it', () => {
    const a = createPartition(modeMap({ p1: 52, p28: 20 }), { folds: 4, seed: 7, modeSource: column });
    const reversed = new Map([...modeMap({ p1: 52, p28: 20 })].reverse());
    const b = createPartition(reversed, { folds: 4, seed: 7, modeSource: column });
    const c = createPartition(modeMap({ p1: 52, p28: 20 }), { folds: 4, seed: 8, modeSource: column });
    expect(b).toEqual(a);
    expect(c.modes).not.toEqual(a.modes);
  });

  it("plans one member per (mode, fold): trains on the mode's other folds, validates on the held-out one", () => {
    // The paper: P1 with 4 folds, P28 with 5 folds, 9 members.
    const p = createPartition(modeMap({ P1: 52, P28: 20 }), { folds: 5, seed: 1, modeSource: column });
    p.modes[0]!.folds = [...p.modes[0]!.folds.slice(0, 3), p.modes[0]!.folds.slice(3).flat()];
    const members = planMembers(p);
    expect(members.map((m) => m.id)).toEqual([
      'p1-f0',
      'p1-f1',
      'p1-f2',
      'p1-f3',
      'p28-f0',
      'p28-f1',
      'p28-f2',
      'p28-f3',
      'p28-f4',
    ]);
    for (const m of members) {
      expect(m.trainIds.some((id) => m.validationIds.includes(id))).toBe(false);
      expect(m.trainIds.every((id) => id.startsWith(m.mode))).toBe(true);
      expect(m.trainIds.length + m.validationIds.length).toBe(m.mode === 'P1' ? 52 : 20);
    }
  });

  it('lowers K for a small mode and refuses a mode too small to train, naming it', () => {
    const p = createPartition(modeMap({ big: 10, small: 3 }), { folds: 5, seed: 1, modeSource: column });
    expect(p.modes.find((m) => m.name === 'small')!.folds).toHaveLength(3);
    expect(() =>
      createPartition(modeMap({ big: 10, tiny: 1 }), { folds: 5, seed: 1, modeSource: column }),
    ).toThrow(/mode "tiny": has 1 training image/);
    expect(() => createPartition(modeMap({ big: 10 }), { folds: 1, seed: 1, modeSource: column })).toThrow(
      QuorumInputError,
    );
  });

  it('builds a mode-blind baseline partition of the requested size', () => {
    const ids = [...modeMap({ a: 7, b: 5 }).keys()];
    const p = createModeBlindPartition(ids, 4, 3);
    expect(p.modes).toHaveLength(1);
    expect(p.modes[0]!.folds).toHaveLength(4);
    expect(p.modes[0]!.folds.flat().sort()).toEqual(ids.sort());
  });
});

describe('mode discovery', () => {
  function synthetic(w: number, h: number, level: number, seed: number) {
    const rng = createRandom(seed);
    const data = new Uint8Array(w * h).map(() => Math.round(level + rng.next() * 20));
    return imageFeatures({ width: w, height: h, data, maxValue: 255 });
  }

  it('recovers clearly separated acquisition groups, deterministically', () => {
    const feats = new Map<string, number[]>();
    for (let i = 0; i < 6; i++) feats.set(`dim-${i}`, synthetic(64, 64, 10, i));
    for (let i = 0; i < 5; i++) feats.set(`wide-${i}`, synthetic(128, 96, 120, 100 + i));
    const a = discoverModes(feats, { seed: 3 });
    const b = discoverModes(feats, { seed: 3 });
    expect(a.modes).toBe(2);
    expect([...a.modeOf]).toEqual([...b.modeOf]);
    const dimModes = new Set([...a.modeOf].filter(([id]) => id.startsWith('dim')).map(([, m]) => m));
    const wideModes = new Set([...a.modeOf].filter(([id]) => id.startsWith('wide')).map(([, m]) => m));
    expect(dimModes).toEqual(new Set(['mode-1']));
    expect(wideModes).toEqual(new Set(['mode-2']));
  });

  it('keeps one mode when there is no structure, and honours a given number of modes', () => {
    const feats = new Map<string, number[]>();
    for (let i = 0; i < 12; i++) feats.set(`img-${i}`, synthetic(64, 64, 50, i));
    expect(discoverModes(feats, { seed: 1 }).modes).toBe(1);
    const forced = discoverModes(feats, { seed: 1, modes: 3 });
    expect(new Set(forced.modeOf.values()).size).toBe(3);
    expect(() => discoverModes(feats, { seed: 1, modes: 7 })).toThrow(
      /--modes: 7 modes need at least 14 images/,
    );
  });

  it('k-means and silhouette agree with hand-computed values', () => {
    const pts = [
      [0, 0],
      [0, 1],
      [10, 0],
      [10, 1],
    ];
    const { labels, inertia } = kmeans(pts, 2, 1);
    expect(labels[0]).toBe(labels[1]);
    expect(labels[2]).toBe(labels[3]);
    expect(labels[0]).not.toBe(labels[2]);
    expect(inertia).toBeCloseTo(1, 10); // each point is 0.5 from its centre: 4 * 0.25
    // a(i) = 1, b(i) = (10 + sqrt(101)) / 2 for every point.
    const b = (10 + Math.sqrt(101)) / 2;
    expect(silhouette(pts, labels)).toBeCloseTo((b - 1) / b, 10);
  });
});
