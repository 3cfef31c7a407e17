import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuorumInputError } from '../src/errors';
import {
  aggregateScores,
  type ImageScores,
  meanAndStd,
  objectScores,
  pixelScores,
  pixelScoresFromCounts,
  prAuc,
  prCurve,
} from '../src/metrics';
import { type LabelImage, labelComponents, type Mask, type ProbabilityMap } from '../src/postprocess';

const row = (...v: number[]): Mask => ({ width: v.length, height: 1, data: Uint8Array.from(v) });
const probRow = (...v: number[]): ProbabilityMap => ({
  width: v.length,
  height: 1,
  data: Float32Array.from(v),
});
const labelRows = (width: number, ...v: number[]): LabelImage => ({
  width,
  height: v.length / width,
  data: Uint32Array.from(v),
});

function expectInputError(f: () => unknown, code: string, ...inMessage: string[]): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(QuorumInputError);
    expect((e as QuorumInputError).code).toBe(code);
    for (const s of inMessage) expect((e as Error).message).toContain(s);
    return;
  }
  expect.fail('expected a QuorumInputError');
}

/** Two random masks of one random size. */
const arbMaskPair = fc
  .record({ width: fc.integer({ min: 1, max: 12 }), height: fc.integer({ min: 1, max: 12 }) })
  .chain(({ width, height }) => {
    const bits = fc
      .tuple(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
          minLength: width * height,
          maxLength: width * height,
        }),
      )
      .map(([density, u]) => ({ width, height, data: Uint8Array.from(u, (v) => (v < density ? 1 : 0)) }));
    return fc.tuple(bits, bits);
  });

describe('pixelScores', () => {
  it('counts and scores a hand-made pair', () => {
    // pred 111000 vs truth 110100: tp 2 (i0, i1), fp 1 (i2), fn 1 (i3), tn 2.
    const s = pixelScores(row(1, 1, 1, 0, 0, 0), row(1, 1, 0, 1, 0, 0));
    expect(s).toEqual({
      tp: 2,
      fp: 1,
      fn: 1,
      tn: 2,
      dice: 4 / 6,
      iou: 2 / 4,
      precision: 2 / 3,
      recall: 2 / 3,
    });
  });

  it('treats any nonzero byte as foreground', () => {
    expect(pixelScores(row(255, 0), row(1, 0)).dice).toBe(1);
  });

  it('follows the empty-case conventions: 1 when both are empty, else 0', () => {
    const both = pixelScores(row(0, 0), row(0, 0));
    expect([both.dice, both.iou, both.precision, both.recall]).toEqual([1, 1, 1, 1]);
    const missed = pixelScores(row(0, 0), row(1, 0));
    expect([missed.dice, missed.iou, missed.precision, missed.recall]).toEqual([0, 0, 0, 0]);
    const spurious = pixelScores(row(1, 0), row(0, 0));
    expect([spurious.dice, spurious.iou, spurious.precision, spurious.recall]).toEqual([0, 0, 0, 0]);
  });

  it('rejects masks of different sizes, naming both', () => {
    const a = { width: 2, height: 3, data: new Uint8Array(6) };
    const b = { width: 3, height: 2, data: new Uint8Array(6) };
    expectInputError(() => pixelScores(a, b), 'mismatch', 'predicted mask', '2x3', '3x2');
  });

  it('satisfies dice = 2 iou / (1 + iou), the count identity, and symmetry', () => {
    fc.assert(
      fc.property(arbMaskPair, ([p, t]) => {
        const s = pixelScores(p, t);
        expect(s.tp + s.fp + s.fn + s.tn).toBe(p.data.length);
        expect(s.dice).toBeCloseTo((2 * s.iou) / (1 + s.iou), 12);
        const r = pixelScores(t, p);
        expect([r.fp, r.fn, r.precision, r.recall, r.dice]).toEqual([
          s.fn,
          s.fp,
          s.recall,
          s.precision,
          s.dice,
        ]);
        const self = pixelScores(p, p);
        expect([self.dice, self.iou, self.precision, self.recall]).toEqual([1, 1, 1, 1]);
        for (const v of [s.dice, s.iou, s.precision, s.recall]) expect(v >= 0 && v <= 1).toBe(true);
      }),
    );
  });
});

/** Brute force: IoU of every (pred id, truth id) pair by scanning all pixels per pair. */
function bruteIous(pred: LabelImage, truth: LabelImage): { p: number; t: number; iou: number }[] {
  const pids = [...new Set(pred.data)].filter((v) => v > 0);
  const tids = [...new Set(truth.data)].filter((v) => v > 0);
  const out: { p: number; t: number; iou: number }[] = [];
  for (const p of pids) {
    for (const t of tids) {
      let inter = 0;
      let union = 0;
      for (let i = 0; i < pred.data.length; i++) {
        const a = pred.data[i] === p;
        const b = truth.data[i] === t;
        if (a && b) inter++;
        if (a || b) union++;
      }
      out.push({ p, t, iou: inter / union });
    }
  }
  return out;
}

describe('objectScores', () => {
  // truth:        pred:
  // 1 1 1 0 2 2   5 5 0 0 7 7
  // 1 1 1 0 2 2   5 5 0 0 0 0
  const truth = labelRows(6, 1, 1, 1, 0, 2, 2, 1, 1, 1, 0, 2, 2);
  const pred = labelRows(6, 5, 5, 0, 0, 7, 7, 5, 5, 0, 0, 0, 0);

  it('matches at IoU strictly above the threshold', () => {
    // 5 vs 1: 4 shared of 6 -> IoU 2/3, a match. 7 vs 2: 2 shared of 4 -> IoU exactly 0.5, not a match.
    const s = objectScores(pred, truth);
    expect(s).toEqual({
      tp: 1,
      fp: 1,
      fn: 1,
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
      matches: [{ pred: 5, truth: 1, iou: 4 / 6 }],
    });
    const loose = objectScores(pred, truth, 0.4);
    expect(loose.matches).toEqual([
      { pred: 5, truth: 1, iou: 4 / 6 },
      { pred: 7, truth: 2, iou: 0.5 },
    ]);
    expect([loose.tp, loose.fp, loose.fn, loose.f1]).toEqual([2, 0, 0, 1]);
  });

  it('below 0.5, matches greedily by descending IoU, ties to the smaller truth id', () => {
    // truth X=1 at x 0-1, Y=2 at x 2-4; pred A=5 at x 1-3: IoU(A,X) = 1/4, IoU(A,Y) = 2/4. A takes Y.
    const s = objectScores(labelRows(5, 0, 5, 5, 5, 0), labelRows(5, 1, 1, 2, 2, 2), 0.2);
    expect(s.matches).toEqual([{ pred: 5, truth: 2, iou: 0.5 }]);
    expect([s.tp, s.fp, s.fn]).toEqual([1, 0, 1]);
    // pred 5 at x 1-2 overlaps X and Y equally (IoU 1/3 each): the smaller truth id wins.
    const tie = objectScores(labelRows(4, 0, 5, 5, 0), labelRows(4, 1, 1, 2, 2), 0.3);
    expect(tie.matches).toEqual([{ pred: 5, truth: 1, iou: 1 / 3 }]);
  });

  it('scores empty label images by the pixel scores convention', () => {
    const empty = labelRows(2, 0, 0);
    expect(objectScores(empty, empty)).toMatchObject({ tp: 0, fp: 0, fn: 0, precision: 1, recall: 1, f1: 1 });
    expect(objectScores(empty, labelRows(2, 3, 0))).toMatchObject({ fn: 1, precision: 0, recall: 0, f1: 0 });
  });

  it('rejects a bad threshold and labels of different sizes', () => {
    expectInputError(() => objectScores(pred, truth, 1.5), 'invalid-value', 'iouThreshold');
    expectInputError(() => objectScores(pred, truth, Number.NaN), 'invalid-value', 'iouThreshold');
    expectInputError(() => objectScores(labelRows(4, 0, 0, 0, 0), truth), 'mismatch', '4x1', '6x2');
  });

  it('at IoU > 0.5 finds exactly the pairs above 0.5 of a brute-force IoU table', () => {
    fc.assert(
      fc.property(arbMaskPair, fc.constantFrom<4 | 8>(4, 8), ([p, t], conn) => {
        const pred = labelComponents(p, conn).labels;
        const truth = labelComponents(t, conn).labels;
        const s = objectScores(pred, truth);
        const want = bruteIous(pred, truth).filter((c) => c.iou > 0.5);
        expect(s.matches.map((m) => [m.pred, m.truth, m.iou])).toEqual(want.map((c) => [c.p, c.t, c.iou]));
        expect(s.fp).toBe(new Set(pred.data).size - (pred.data.includes(0) ? 1 : 0) - s.tp);
      }),
    );
  });

  it('at any threshold gives a one-to-one, maximal matching of pairs above it', () => {
    fc.assert(
      fc.property(arbMaskPair, fc.double({ min: 0, max: 1, noNaN: true }), ([p, t], thr) => {
        const pred = labelComponents(p, 4).labels;
        const truth = labelComponents(t, 8).labels;
        const s = objectScores(pred, truth, thr);
        const all = bruteIous(pred, truth);
        const usedP = new Set(s.matches.map((m) => m.pred));
        const usedT = new Set(s.matches.map((m) => m.truth));
        expect(usedP.size).toBe(s.tp);
        expect(usedT.size).toBe(s.tp);
        for (const m of s.matches) {
          expect(m.iou).toBeGreaterThan(thr);
          expect(m.iou).toBe(all.find((c) => c.p === m.pred && c.t === m.truth)!.iou);
        }
        // Greedy leaves no candidate pair with both objects free.
        expect(all.some((c) => c.iou > thr && !usedP.has(c.p) && !usedT.has(c.t))).toBe(false);
      }),
    );
  });

  it('scores a label image against itself (with ids permuted) as all matched at IoU 1', () => {
    const { labels, count } = labelComponents({
      width: 5,
      height: 3,
      data: Uint8Array.of(1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1),
    });
    const renamed = { ...labels, data: labels.data.map((v) => (v ? 1000 - v : 0)) };
    const s = objectScores(renamed, labels);
    expect(s.tp).toBe(count);
    expect(s.matches.every((m) => m.iou === 1 && m.pred === 1000 - m.truth)).toBe(true);
  });
});

/** Brute force AP: for every distinct score, count by scanning all pixels (O(n^2)). */
function bruteAp(scores: number[], truth: number[]): number {
  const positives = truth.filter((v) => v).length;
  if (positives === 0) return 0;
  const ths = [...new Set(scores)].sort((a, b) => b - a);
  let ap = 0;
  let prevRecall = 0;
  for (const th of ths) {
    const tp = scores.filter((s, i) => s >= th && truth[i]).length;
    const fp = scores.filter((s, i) => s >= th && !truth[i]).length;
    const recall = tp / positives;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

describe('prAuc (average precision)', () => {
  it('sums precision over recall steps', () => {
    // Scores 0.9+ 0.8- 0.7+ 0.6-, 2 positives. At 0.9: P 1, R 1/2; at 0.8: R unchanged; at 0.7: P 2/3, R 1.
    // AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    expect(prAuc(probRow(0.9, 0.8, 0.7, 0.6), row(1, 0, 1, 0))).toBeCloseTo(5 / 6, 15);
  });

  it('treats tied scores as one threshold, not in an order that flatters', () => {
    // 0.5+ 0.5- tie: at 0.5 P 1/2, R 1/2; at 0.2 P 2/3, R 1. AP = 1/4 + 1/3 = 7/12 (positive-first would be 5/6).
    expect(prAuc(probRow(0.5, 0.5, 0.2), row(1, 0, 1))).toBeCloseTo(7 / 12, 15);
    // One score for all: AP = prevalence.
    expect(prAuc(probRow(0.3, 0.3, 0.3, 0.3), row(1, 0, 0, 0))).toBe(0.25);
  });

  it('is 1 for a perfect ranking, 0 without positives (as scikit-learn), 1 with only positives', () => {
    expect(prAuc(probRow(0.1, 0.9, 0.8, 0.2), row(0, 1, 1, 0))).toBe(1);
    expect(prAuc(probRow(0.1, 0.9), row(0, 0))).toBe(0);
    expect(prAuc(probRow(0.1, 0.9), row(1, 1))).toBe(1);
    expect(
      prAuc(
        { width: 0, height: 0, data: new Float32Array(0) },
        { width: 0, height: 0, data: new Uint8Array(0) },
      ),
    ).toBe(0);
  });

  it('rejects NaN scores and a size mismatch', () => {
    expectInputError(() => prAuc(probRow(0.1, Number.NaN), row(0, 1)), 'invalid-value', 'NaN');
    expectInputError(() => prAuc(probRow(0.1, 0.2, 0.3), row(0, 1)), 'mismatch', '3x1', '2x1');
  });

  const arbScored = fc
    .integer({ min: 1, max: 60 })
    .chain((n) =>
      fc.tuple(
        fc.array(fc.integer({ min: 0, max: 16 }), { minLength: n, maxLength: n }),
        fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      ),
    );

  it('equals a brute-force AP with many ties, and is invariant under a monotone rescaling of scores', () => {
    fc.assert(
      fc.property(arbScored, ([k, t]) => {
        const scores = k.map((v) => v / 16);
        const truth = t.map((b) => (b ? 1 : 0));
        const ap = prAuc(probRow(...scores), row(...truth));
        expect(ap).toBeCloseTo(bruteAp(scores, truth), 12);
        // v / 2 + 0.25 is exact in float32 for these scores and keeps their order and ties.
        expect(prAuc(probRow(...scores.map((v) => v / 2 + 0.25)), row(...truth))).toBe(ap);
        expect(ap >= 0 && ap <= 1).toBe(true);
      }),
    );
  });

  it('handles a 512x512 map (a per-threshold rescan, O(n^2), would time out)', () => {
    const n = 512 * 512;
    const data = new Float32Array(n);
    const truth = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      data[i] = ((i * 2654435761) >>> 0) / 2 ** 32;
      truth[i] = data[i]! + ((i * 40503) % 1000) / 2000 > 0.75 ? 1 : 0;
    }
    const ap = prAuc({ width: 512, height: 512, data }, { width: 512, height: 512, data: truth });
    expect(ap).toBeGreaterThan(0.5);
  });
});

describe('prCurve', () => {
  it('has one point per distinct score, scores descending', () => {
    const c = prCurve(probRow(0.5, 0.5, 0.2), row(1, 0, 1));
    expect(Array.from(c.thresholds)).toEqual([0.5, Math.fround(0.2)]);
    expect(Array.from(c.precision)).toEqual([0.5, 2 / 3]);
    expect(Array.from(c.recall)).toEqual([0.5, 1]);
  });

  it('thins to maxPoints evenly by index, keeping both ends', () => {
    // Five distinct scores; 3 points are steps 0, 2 and 4.
    const c = prCurve(probRow(0.5, 0.25, 0.75, 1, 0), row(1, 0, 1, 0, 1), { maxPoints: 3 });
    expect(Array.from(c.thresholds)).toEqual([1, 0.5, 0]);
    expect(Array.from(c.recall)).toEqual([0, 2 / 3, 1]);
    expect(Array.from(c.precision)).toEqual([0, 2 / 3, 3 / 5]);
    expect(prCurve(probRow(0.5), row(1), { maxPoints: 2 }).thresholds.length).toBe(1);
    expectInputError(() => prCurve(probRow(0.5), row(1), { maxPoints: 1 }), 'invalid-value', 'maxPoints');
  });
});

describe('meanAndStd', () => {
  it('gives the mean and the sample (n - 1) standard deviation', () => {
    // Mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; sample variance 32/7.
    const s = meanAndStd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s.mean).toBe(5);
    expect(s.std).toBeCloseTo(Math.sqrt(32 / 7), 15);
    expect(s.n).toBe(8);
  });

  it('is NaN where undefined: no values (mean and std), one value (std)', () => {
    expect(meanAndStd([])).toEqual({ mean: Number.NaN, std: Number.NaN, n: 0 });
    expect(meanAndStd(Float64Array.of(3))).toEqual({ mean: 3, std: Number.NaN, n: 1 });
  });

  it('is shift-invariant in std even far from zero (no cancellation)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 2, maxLength: 30 }),
        (v) => {
          const a = meanAndStd(v);
          const b = meanAndStd(v.map((x) => x + 1e6));
          expect(Math.abs(a.std - b.std)).toBeLessThan(1e-8);
        },
      ),
    );
  });
});

describe('aggregateScores', () => {
  // Image A: tp 1 fp 1 fn 1 tn 1 -> dice 2/4 = 0.5. Image B: tp 8 -> dice 1.
  const a: ImageScores = {
    pixel: pixelScoresFromCounts({ tp: 1, fp: 1, fn: 1, tn: 1 }),
    objects: { tp: 1, fp: 1, fn: 0 },
    averagePrecision: 0.5,
  };
  const b: ImageScores = {
    pixel: pixelScoresFromCounts({ tp: 8, fp: 0, fn: 0, tn: 0 }),
    objects: { tp: 2, fp: 0, fn: 0 },
    averagePrecision: 0.7,
  };

  it('gives the mean over images and the pooled scores over all pixels', () => {
    const s = aggregateScores([a, b]);
    expect(s.images).toBe(2);
    // Mean dice (0.5 + 1) / 2 = 0.75; sample std sqrt((0.25^2 + 0.25^2) / 1).
    expect(s.mean.dice.mean).toBe(0.75);
    expect(s.mean.dice.std).toBeCloseTo(Math.sqrt(0.125), 15);
    // Pooled: tp 9, fp 1, fn 1 -> dice 18 / 20 = 0.9: the big image weighs more.
    expect(s.pooled).toMatchObject({ tp: 9, fp: 1, fn: 1, tn: 1, dice: 0.9 });
    // Object F1: A 2/3, B 1 -> mean 5/6; pooled tp 3 fp 1 fn 0 -> 6/7.
    expect(s.mean.objectF1!.mean).toBeCloseTo(5 / 6, 15);
    expect(s.pooledObjects!.f1).toBeCloseTo(6 / 7, 15);
    expect(s.mean.averagePrecision!.mean).toBeCloseTo(0.6, 15);
  });

  it('leaves object and AP aggregates out when no image has them', () => {
    const s = aggregateScores([{ pixel: a.pixel }]);
    expect(s.mean.objectF1).toBeUndefined();
    expect(s.pooledObjects).toBeUndefined();
    expect(s.mean.averagePrecision).toBeUndefined();
    expect(s.mean.dice.std).toBeNaN();
  });

  it('refuses an empty list and a list where only some images have object scores', () => {
    expectInputError(() => aggregateScores([]), 'too-few', 'perImage');
    expectInputError(() => aggregateScores([a, { pixel: b.pixel }]), 'mismatch', 'perImage[1].objects');
  });

  it('pools to the scores of the concatenated masks', () => {
    fc.assert(
      fc.property(fc.array(arbMaskPair, { minLength: 1, maxLength: 5 }), (pairs) => {
        const s = aggregateScores(pairs.map(([p, t]) => ({ pixel: pixelScores(p, t) })));
        const cat = (k: 0 | 1): Mask => {
          const data = Uint8Array.from(pairs.flatMap((pair) => Array.from(pair[k].data)));
          return { width: data.length, height: 1, data };
        };
        expect(s.pooled).toEqual(pixelScores(cat(0), cat(1)));
      }),
    );
  });
});
