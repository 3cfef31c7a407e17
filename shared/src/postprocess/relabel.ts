import type { Labelled } from './label';
import { checkMap, type LabelImage } from './map2d';

/**
 * Renumbers ids to 1..count in raster order of each object's first pixel: the order `labelComponents` gives,
 * restored after objects were removed. An id keeps all its pixels, connected or not.
 */
export function relabelSequential(labels: LabelImage): Labelled {
  checkMap(labels, 'labels');
  const src = labels.data;
  const out = new Uint32Array(src.length);
  const next = new Map<number, number>();
  // Pixels of one object come in runs along a row: skip the map lookup while the id repeats.
  let lastId = 0;
  let last = 0;
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (v === 0) continue;
    if (v !== lastId) {
      let id = next.get(v);
      if (id === undefined) {
        id = next.size + 1;
        next.set(v, id);
      }
      lastId = v;
      last = id;
    }
    out[i] = last;
  }
  return { labels: { width: labels.width, height: labels.height, data: out }, count: next.size };
}
