import { labelComponents } from './label';
import { indexLabels } from './label-index';
import {
  type Connectivity,
  checkConnectivity,
  checkCount,
  checkMap,
  type LabelImage,
  type Map2D,
  type Mask,
} from './map2d';

/**
 * Drops objects with fewer than `minArea` pixels (an object of exactly `minArea` pixels stays, as with
 * scikit-image's `remove_small_objects(min_size=minArea)` and the manifest's `postprocess.minArea`).
 *
 * - Labels in, labels out: an object is a label id (whether or not its pixels touch); kept ids are unchanged,
 *   so call `relabelSequential` for ids 1..count.
 * - Mask in, mask out: objects are the connected components under `connectivity` (default 8, which is
 *   scikit-image's `connectivity=2`; note its own default for boolean masks is 4-connectivity).
 */
export function removeSmallObjects(mask: Mask, minArea: number, connectivity?: Connectivity): Mask;
export function removeSmallObjects<T extends Uint16Array | Uint32Array>(
  labels: Map2D<T>,
  minArea: number,
): Map2D<T>;
export function removeSmallObjects(
  input: Mask | LabelImage,
  minArea: number,
  connectivity: Connectivity = 8,
): Mask | LabelImage {
  checkCount(minArea, 'minArea');
  if (input.data instanceof Uint8Array) {
    checkMap(input, 'mask');
    checkConnectivity(connectivity);
    const { labels } = labelComponents(input as Mask, connectivity);
    const kept = removeSmallLabels(labels.data, minArea);
    const out = new Uint8Array(kept.length);
    for (let i = 0; i < kept.length; i++) out[i] = kept[i] !== 0 ? 1 : 0;
    return { width: input.width, height: input.height, data: out };
  }
  checkMap(input, 'labels');
  return { width: input.width, height: input.height, data: removeSmallLabels(input.data, minArea) };
}

function removeSmallLabels<T extends Uint16Array | Uint32Array>(data: T, minArea: number): T {
  const out = data.slice() as T;
  if (minArea <= 1) return out;
  const { areas, slots } = indexLabels(data);
  for (let i = 0; i < out.length; i++) {
    const k = slots[i]!;
    if (k >= 0 && areas[k]! < minArea) out[i] = 0;
  }
  return out;
}
