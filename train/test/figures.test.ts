import { classifyObjects, decodeImage, type Segmentation } from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import type { LoadedSample } from '../src/data/dataset';
import { ERROR_COLOURS, overlayFigure } from '../src/report/figures';

/** Labels drawn from rows of characters: '.' background, any other character an object id. */
function draw(...rows: string[]): Uint32Array {
  return Uint32Array.from(rows.join(''), (ch) => (ch === '.' ? 0 : ch.charCodeAt(0)));
}

describe('overlayFigure', () => {
  it('colours each true object by its error class in the middle panel and outlines the predicted objects', () => {
    // a matched; b and c merged under one prediction; d missed; z a spurious prediction.
    const rows = [
      'aaaa.bbbbcccc.dddd...',
      'aaaa.bbbbcccc.dddd...',
      'aaaa.bbbbcccc.dddd...',
      'aaaa.bbbbcccc.dddd...',
    ];
    const pred = [
      'AAAA.BBBBBBBB.....zzz',
      'AAAA.BBBBBBBB.....zzz',
      'AAAA.BBBBBBBB.....zzz',
      'AAAA.BBBBBBBB.....zzz',
    ];
    const w = rows[0]!.length;
    const h = rows.length;
    const labels = draw(...rows);
    const predLabels = draw(...pred);
    const sample = {
      id: 'x',
      width: w,
      height: h,
      image: new Float32Array(w * h), // black: the class colours show undiluted by the image
      mask: Uint8Array.from(labels, (v) => (v ? 1 : 0)),
      labels,
    } as unknown as LoadedSample;
    const seg = {
      labels: { width: w, height: h, data: predLabels },
      mask: { width: w, height: h, data: Uint8Array.from(predLabels, (v) => (v ? 1 : 0)) },
      uncertainty: { std: new Float32Array(w * h) },
    } as unknown as Segmentation;
    const truth = { width: w, height: h, data: labels };
    const png = decodeImage(overlayFigure(sample, seg, truth, classifyObjects(seg.labels, truth)));
    const W = 3 * w + 8;
    expect([png.width, png.height, png.channels]).toEqual([W, h, 3]);
    const middle = (x: number, y: number) => {
      const o = (y * W + w + 4 + x) * 3;
      return [png.data[o], png.data[o + 1], png.data[o + 2]];
    };
    const tint = (c: readonly number[]) => c.map((v) => Math.round(v * 0.6));
    // Interior pixels of rows 1-2 only: every predicted object's edge pixels are white.
    expect(middle(0, 1)).toEqual([255, 255, 255]); // the edge of a's prediction
    expect(middle(15, 1)).toEqual(tint(ERROR_COLOURS.missed)); // d: no prediction, so no outline over it
    expect(middle(16, 2)).toEqual(tint(ERROR_COLOURS.missed));
    expect(middle(8, 1)).toEqual(tint(ERROR_COLOURS.merged)); // b, inside the merged blob B
    expect(middle(10, 2)).toEqual(tint(ERROR_COLOURS.merged)); // c
    expect(middle(2, 1)).toEqual(tint(ERROR_COLOURS.matched));
    expect(middle(19, 1)).toEqual(tint(ERROR_COLOURS.spurious));
    expect(middle(8, 0)).toEqual([255, 255, 255]); // the merged blob's outline
  });
});
