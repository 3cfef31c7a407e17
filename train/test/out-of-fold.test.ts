import { describe, expect, it } from 'vitest';
import type { LoadedSample } from '../src/data/dataset';
import { outOfFoldMembers, planOutOfFold, subsetRunner } from '../src/ensemble/out-of-fold';

// Two modes x two folds, as planMembers lays them out: each member trains on its own mode's other fold.
const records = [
  { id: 'A-f0', trainIds: ['a1'] },
  { id: 'A-f1', trainIds: ['a0'] },
  { id: 'B-f0', trainIds: ['b1', 'b2'] },
  { id: 'B-f1', trainIds: ['b0'] },
];

describe('outOfFoldMembers', () => {
  it('takes every member of another mode and the member whose held-out fold holds the image', () => {
    expect(outOfFoldMembers(records, 'a0')).toEqual([0, 2, 3]);
    expect(outOfFoldMembers(records, 'a1')).toEqual([1, 2, 3]);
    expect(outOfFoldMembers(records, 'b2')).toEqual([0, 1, 3]);
  });

  it('is empty when every member trained on the image', () => {
    const everywhere = records.map((r) => ({ ...r, trainIds: [...r.trainIds, 'x'] }));
    expect(outOfFoldMembers(everywhere, 'x')).toEqual([]);
  });
});

describe('planOutOfFold', () => {
  it('skips the images every member trained on and keeps the others with their members', () => {
    const all = records.map((r) => ({ ...r, trainIds: [...r.trainIds, 'x'] }));
    const samples = ['x', 'a0', 'b0'].map((id) => ({ id }) as LoadedSample);
    const plan = planOutOfFold(all, samples);
    expect(plan.skipped).toEqual(['x']);
    expect(plan.images.map((i) => [i.sample.id, i.members])).toEqual([
      ['a0', [0, 2, 3]],
      ['b0', [0, 1, 2]],
    ]);
  });
});

describe('subsetRunner', () => {
  it('exposes only the chosen members and routes each call to the right one', async () => {
    const calls: number[] = [];
    const runner = {
      members: records.map((r) => ({ id: r.id, mode: r.id[0]! })),
      channels: 2 as const,
      predict: async (index: number, tiles: Float32Array) => {
        calls.push(index);
        return tiles;
      },
    };
    const sub = subsetRunner(runner, [3, 0]);
    expect(sub.members.map((m) => m.id)).toEqual(['B-f1', 'A-f0']);
    expect(sub.channels).toBe(2);
    await sub.predict(0, new Float32Array(1), 1, 1, 1);
    await sub.predict(1, new Float32Array(1), 1, 1, 1);
    expect(calls).toEqual([3, 0]);
  });
});
