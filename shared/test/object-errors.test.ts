import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateScores, classifyObjects, objectErrors, objectScores, pixelScores } from '../src/metrics';
import type { LabelImage } from '../src/postprocess';

/** A label image drawn from rows of characters: '.' is background, any other character an object id (its code). */
function draw(...rows: string[]): LabelImage {
  const width = rows[0]!.length;
  const data = new Uint32Array(width * rows.length);
  rows.forEach((r, y) => {
    for (let x = 0; x < width; x++) data[y * width + x] = r[x] === '.' ? 0 : r.charCodeAt(x);
  });
  return { width, height: rows.length, data };
}

describe('objectErrors', () => {
  it('puts each true object in one class: matched, merged, split, missed or misfit; and counts spurious predictions', () => {
    // True objects: a matched, b+c touching (one predicted blob over both), d cut in two, e missed,
    // f inside a far larger prediction; the prediction z lies on background.
    const truth = draw(
      'aaa.bbbccc.ddddd.ee......',
      'aaa.bbbccc.ddddd.ee..f...',
      'aaa.bbbccc.ddddd.........',
      '.........................',
    );
    const pred = draw(
      'AAA.BBBBBB.DDEEG.....FFFF',
      'AAA.BBBBBB.DDEEG.....FFFF',
      'AAA.BBBBBB.DDEEG.....FFFF',
      '...........z.........FFFF',
    );
    const e = objectErrors(pred, truth);
    expect(e).toEqual({
      truth: 6,
      matched: 1,
      merged: 2,
      split: 1,
      missed: 1,
      misfit: 1,
      predicted: 7,
      // z, and F: 15 of its 16 pixels are background, however well it covers f.
      spurious: 2,
    });
    expect(e.matched).toBe(objectScores(pred, truth).tp);
    const c = classifyObjects(pred, truth);
    const of = (ch: string) => c.truth.find((t) => t.id === ch.charCodeAt(0))!.class;
    expect(['a', 'b', 'c', 'd', 'e', 'f'].map(of)).toEqual([
      'matched',
      'merged',
      'merged',
      'split',
      'missed',
      'misfit',
    ]);
    expect(c.spurious).toEqual(['F', 'z'].map((ch) => ch.charCodeAt(0)));
    expect(c.predicted).toHaveLength(7);
  });

  it('does not call a neighbour merged when the blob only grazes a missed object', () => {
    // B holds all of c (IoU 9/27, too loose to match) and a quarter of a: a is missed, and c, the only object B
    // really covers, is a misfit; counting the grazed a as hosted by B would call c merged.
    const rows = (t: string) => [t, t, t];
    const truth = draw(...rows('aaaa.ccc....'));
    const pred = draw(...rows('...BBBBBBBBB'));
    expect(objectErrors(pred, truth)).toMatchObject({ matched: 0, missed: 1, misfit: 1, merged: 0 });
  });

  it('classifies every true object exactly once, whatever the labels (property)', () => {
    const image = fc
      .integer({ min: 1, max: 12 })
      .chain((w) =>
        fc.tuple(
          fc.constant(w),
          fc.array(fc.integer({ min: 0, max: 4 }), { minLength: w, maxLength: w * 8 }),
          fc.array(fc.integer({ min: 0, max: 4 }), { minLength: w, maxLength: w * 8 }),
        ),
      );
    fc.assert(
      fc.property(image, ([w, a, b]) => {
        const n = Math.floor(Math.min(a.length, b.length) / w) * w;
        const pred = { width: w, height: n / w, data: Uint32Array.from(a.slice(0, n)) };
        const truth = { width: w, height: n / w, data: Uint32Array.from(b.slice(0, n)) };
        const e = objectErrors(pred, truth);
        const s = objectScores(pred, truth);
        expect(e.matched + e.merged + e.split + e.missed + e.misfit).toBe(e.truth);
        expect(e.truth).toBe(s.tp + s.fn);
        expect(e.predicted).toBe(s.tp + s.fp);
        expect(e.matched).toBe(s.tp);
        expect(e.spurious).toBeLessThanOrEqual(s.fp);
      }),
    );
  });

  it('refuses labels of different sizes, naming both', () => {
    expect(() => objectErrors(draw('a.'), draw('a..'))).toThrow(
      /truth labels.*predicted labels|predicted labels/,
    );
  });

  it('sums over images in aggregateScores, which wants them for every image or none', () => {
    const truth = draw('aa.bb', 'aa.bb');
    const pred = draw('AA...', 'AA...');
    const m = { width: 5, height: 2, data: Uint8Array.from(pred.data, (v) => (v ? 1 : 0)) };
    const t = { width: 5, height: 2, data: Uint8Array.from(truth.data, (v) => (v ? 1 : 0)) };
    const one = {
      pixel: pixelScores(m, t),
      objects: { tp: 1, fp: 0, fn: 1 },
      errors: objectErrors(pred, truth),
    };
    const agg = aggregateScores([one, one]);
    expect(agg.objectErrors).toMatchObject({ truth: 4, matched: 2, missed: 2, predicted: 2, spurious: 0 });
    const { errors: _, ...without } = one;
    expect(() => aggregateScores([one, without])).toThrow(/perImage\[1\]\.errors/);
  });
});
