// Metrics against scikit-learn and a brute-force NumPy/SciPy matcher (fixtures/reference/make-reference.py).
import { describe, expect, it } from 'vitest';
import { objectScores, pixelScores, prAuc, prCurve } from '../src/metrics';
import { loadReference, toFloatMap, toLabels, toMask } from './fixtures/reference/reference';

const ref = loadReference('metrics.json');

// Ratios of the same integers computed in a different order (sklearn's f1 is 2PR/(P+R), AP sums dR*P after
// dividing): rounding only, ~1e-16 per operation; 1e-12 is tight enough that any miscount fails.
const TOL = 1e-12;

/** Same length, and the largest absolute difference within TOL (reported whole on failure). */
function expectClose(actual: ArrayLike<number>, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  const worst = Math.max(0, ...Array.from(actual, (v, i) => Math.abs(v - expected[i]!)));
  expect(worst).toBeLessThan(TOL);
}

describe.each(ref.pixel)('pixel scores $name against sklearn', (c) => {
  it('counts exactly and matches f1_score, jaccard_score, precision_score, recall_score', () => {
    const s = pixelScores(toMask(c.pred, c.width, c.height), toMask(c.truth, c.width, c.height));
    expect([s.tp, s.fp, s.fn, s.tn]).toEqual([c.tp, c.fp, c.fn, c.tn]);
    expect(Math.abs(s.dice - c.dice)).toBeLessThan(TOL);
    expect(Math.abs(s.iou - c.iou)).toBeLessThan(TOL);
    expect(Math.abs(s.precision - c.precision)).toBeLessThan(TOL);
    expect(Math.abs(s.recall - c.recall)).toBeLessThan(TOL);
  });
});

describe.each(ref.objects)(
  'object scores $name against a brute-force IoU matrix + Hungarian matching',
  (c) => {
    const pred = toLabels(c.pred, c.width, c.height);
    const truth = toLabels(c.truth, c.width, c.height);

    it.each(c.results)('at IoU > $iouThreshold', (r) => {
      const s = objectScores(pred, truth, r.iouThreshold);
      expect([s.tp, s.fp, s.fn]).toEqual([r.tp, r.fp, r.fn]);
      expect(s.matches.map((m) => [m.pred, m.truth])).toEqual(r.matches.map((m) => [m.pred, m.truth]));
      expectClose(
        s.matches.map((m) => m.iou),
        r.matches.map((m) => m.iou),
      );
    });
  },
);

describe('metrics fixture coverage', () => {
  it('has matches in every object case, ids beyond 16 bits, and AP cases with ties and without positives', () => {
    for (const c of ref.objects) expect(c.results[0]!.tp).toBeGreaterThan(0);
    expect(ref.objects.some((c) => Math.max(...c.pred.palette!) > 2 ** 31)).toBe(true);
    expect(ref.averagePrecision.map((c) => c.name)).toEqual(
      expect.arrayContaining(['ties-32x32', 'constant', 'no-positives', 'all-positives']),
    );
  });
});

describe.each(ref.averagePrecision)('average precision $name against sklearn', (c) => {
  const prob = toFloatMap(c.prob, c.width, c.height);
  const truth = toMask(c.truth, c.width, c.height);

  it('equals average_precision_score', () => {
    expect(Math.abs(prAuc(prob, truth) - c.averagePrecision)).toBeLessThan(TOL);
  });
});

describe.each(ref.averagePrecision.filter((c) => c.curve))('PR curve $name against sklearn', (c) => {
  it('has the points of precision_recall_curve (thresholds exactly), scores descending', () => {
    const curve = prCurve(toFloatMap(c.prob, c.width, c.height), toMask(c.truth, c.width, c.height));
    const want = c.curve!;
    expect(Array.from(curve.thresholds)).toEqual(want.thresholds);
    expectClose(curve.precision, want.precision);
    expectClose(curve.recall, want.recall);
  });
});
