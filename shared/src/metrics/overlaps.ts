import { QuorumInputError } from '../errors';

/** Pixels shared by one predicted and one true object, by their slots in `indexLabels` order. */
export interface Overlap {
  ps: number;
  ts: number;
  inter: number;
}

/** Pixel counts of every (pred slot, truth slot) pair that shares at least one pixel. */
export function overlaps(
  predSlots: Int32Array,
  truthSlots: Int32Array,
  predCount: number,
  truthCount: number,
): Overlap[] {
  // Pair keys ps * truthCount + ts must stay exact integers in a double.
  if (predCount * truthCount > Number.MAX_SAFE_INTEGER) {
    throw new QuorumInputError('too-large', 'labels', 'have too many objects to pair');
  }
  const table = new Map<number, number>();
  let lastKey = -1;
  let run = 0;
  const flush = (): void => {
    if (lastKey >= 0) table.set(lastKey, (table.get(lastKey) ?? 0) + run);
  };
  for (let i = 0; i < predSlots.length; i++) {
    const ps = predSlots[i]!;
    const ts = truthSlots[i]!;
    if (ps < 0 || ts < 0) continue;
    const key = ps * truthCount + ts;
    // Overlaps come in runs along rows: count a run, then touch the map once.
    if (key === lastKey) {
      run++;
    } else {
      flush();
      lastKey = key;
      run = 1;
    }
  }
  flush();
  const out: Overlap[] = [];
  for (const [key, inter] of table) {
    out.push({ ps: Math.floor(key / truthCount), ts: key % truthCount, inter });
  }
  return out;
}
