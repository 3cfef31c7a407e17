import { classifyObjects, countObjectErrors, type ImageScores, type Segmentation } from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import type { LoadedSample } from '../src/data/dataset';
import type { MeasuredImage } from '../src/evaluate/evaluate';
import { figurePicker } from '../src/report/figure-picker';

/** A 1-row image of `truth` one-pixel objects, every other one predicted: `truth - predicted` errors. */
function image(id: string, truth: number, predicted: number): [LoadedSample, Segmentation, MeasuredImage] {
  const w = 2 * truth;
  const labels = Uint32Array.from({ length: w }, (_, x) => (x % 2 === 0 ? x / 2 + 1 : 0));
  const pred = Uint32Array.from(labels, (v) => (v && v <= predicted ? v : 0));
  const sample = {
    id,
    width: w,
    height: 1,
    image: new Float32Array(w),
    mask: Uint8Array.from(labels, (v) => (v ? 1 : 0)),
    labels,
  } as unknown as LoadedSample;
  const seg = {
    labels: { width: w, height: 1, data: pred },
    mask: { width: w, height: 1, data: Uint8Array.from(pred, (v) => (v ? 1 : 0)) },
    uncertainty: { std: new Float32Array(w) },
  } as unknown as Segmentation;
  const truthLabels = { width: w, height: 1, data: labels };
  const classes = classifyObjects(seg.labels, truthLabels);
  const e = countObjectErrors(classes);
  const objects = { tp: e.matched, fp: e.predicted - e.matched, fn: e.truth - e.matched };
  return [sample, seg, { scores: { objects } as ImageScores, truth: truthLabels, classes }];
}

describe('figurePicker', () => {
  it('keeps the images with the most object errors, most first, earlier first on ties', () => {
    const picker = figurePicker(3);
    for (const [id, truth, predicted] of [
      ['a', 5, 5], // 0 errors
      ['b', 5, 2], // 3
      ['c', 6, 0], // 6
      ['d', 4, 1], // 3
      ['e', 8, 7], // 1
      ['f', 9, 6], // 3: ties with b and d, arrives later
    ] as const)
      picker.offer(...image(id, truth, predicted));
    expect(picker.picked().map((p) => [p.id, p.errors])).toEqual([
      ['c', 6],
      ['b', 3],
      ['d', 3],
    ]);
    expect(picker.picked().every((p) => p.png.length > 0)).toBe(true);
  });

  it('keeps nothing with a limit of 0', () => {
    const picker = figurePicker(0);
    picker.offer(...image('a', 3, 0));
    expect(picker.picked()).toEqual([]);
  });
});
