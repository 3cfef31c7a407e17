import { describe, expect, it } from 'vitest';
import type { LoadedSample } from '../src/data/dataset';
import { chooseSplit, parseSplitFlag } from '../src/ensemble/tune-split';

/** A training sample whose instances are the given disks (touching ones share a border in the binary mask). */
function sample(id: string, size: number, disks: [number, number, number][]): LoadedSample {
  const labels = new Uint32Array(size * size);
  disks.forEach(([cx, cy, r], k) => {
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) labels[y * size + x] = k + 1;
  });
  const mask = Uint8Array.from(labels, (v) => (v ? 1 : 0));
  return { id, width: size, height: size, labels, mask } as unknown as LoadedSample;
}

const touching = (id: string) =>
  sample(id, 64, [
    [20, 32, 11],
    [41, 32, 11],
  ]);
const apart = (id: string) =>
  sample(id, 64, [
    [14, 14, 8],
    [46, 46, 8],
  ]);

describe('chooseSplit', () => {
  it('splits when the training masks hold touching nuclei, and records every candidate', () => {
    const choice = chooseSplit([touching('a'), touching('b')]);
    expect(choice.chosen?.method).toBe('distance-watershed');
    // Connected components merge each pair into one object: at most one of the two can still match.
    expect(choice.scores[0]!.split).toBeNull();
    expect(choice.scores[0]!.objectF1).toBeLessThanOrEqual(2 / 3);
    expect(choice.scores).toHaveLength(13);
    expect(Math.max(...choice.scores.map((s) => s.objectF1))).toBe(1);
    expect(choice.images).toBe(2);
  });

  it('keeps connected components when objects do not touch (no candidate gains enough)', () => {
    expect(chooseSplit([apart('a'), apart('b')]).chosen).toBeNull();
  });

  it('samples a large training set evenly within the pixel budget', () => {
    const many = Array.from({ length: 10 }, (_, i) => (i % 2 ? apart(`${i}`) : touching(`${i}`)));
    expect(chooseSplit(many, 3 * 64 * 64).images).toBe(3); // every 4th: 0, 4, 8
  });
});

describe('parseSplitFlag', () => {
  it('reads auto, none and explicit parameters', () => {
    expect(parseSplitFlag(undefined)).toBe('auto');
    expect(parseSplitFlag('none')).toBeNull();
    expect(parseSplitFlag('h=1.5,sigma=0')).toEqual({ method: 'distance-watershed', h: 1.5, sigma: 0 });
  });
});
