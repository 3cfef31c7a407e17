import { indexLabels } from './label-index';
import { checkMap, checkSameSize, type FloatMap, type LabelImage } from './map2d';

/**
 * One row per object. Coordinates are in pixels with pixel (x, y)'s centre at (x, y), so the centroid is the
 * mean column and mean row of the object's pixels (scikit-image's `centroid` is (centroidY, centroidX)); add 0.5
 * for coordinates measured from the image's top-left corner.
 */
export interface ObjectRow {
  id: number;
  /** Pixel count. */
  area: number;
  centroidX: number;
  centroidY: number;
  /** Leftmost column and topmost row of the bounding box. */
  bboxX: number;
  bboxY: number;
  /** Bounding box extent in pixels, so the box spans columns bboxX .. bboxX + bboxWidth - 1. */
  bboxWidth: number;
  bboxHeight: number;
  /** Mean of the intensity map over the object's pixels; null when no intensity map was given. */
  meanIntensity: number | null;
  /** Mean of the uncertainty map over the object's pixels; null when no uncertainty map was given. */
  meanUncertainty: number | null;
}

export interface ObjectMaps {
  /** The image (or one channel), for each object's mean intensity. */
  intensity?: FloatMap;
  /** A per-pixel uncertainty map (ensemble std, entropy, disagreement), for each object's mean uncertainty. */
  uncertainty?: FloatMap;
}

/** Measures every object of a label image; rows are in ascending id order. Means are accumulated in float64. */
export function objectTable(labels: LabelImage, maps: ObjectMaps = {}): ObjectRow[] {
  checkMap(labels, 'labels');
  if (maps.intensity) checkSameSize(labels, 'labels', maps.intensity, 'intensity map');
  if (maps.uncertainty) checkSameSize(labels, 'labels', maps.uncertainty, 'uncertainty map');
  const w = labels.width;
  const { ids, areas, slots } = indexLabels(labels.data);
  const k = ids.length;
  const sumX = new Float64Array(k);
  const sumY = new Float64Array(k);
  const minX = new Int32Array(k).fill(w);
  const minY = new Int32Array(k).fill(labels.height);
  const maxX = new Int32Array(k).fill(-1);
  const maxY = new Int32Array(k).fill(-1);
  for (let i = 0, y = 0; y < labels.height; y++) {
    for (let x = 0; x < w; x++, i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      sumX[s]! += x;
      sumY[s]! += y;
      if (x < minX[s]!) minX[s] = x;
      if (x > maxX[s]!) maxX[s] = x;
      if (y < minY[s]!) minY[s] = y;
      if (y > maxY[s]!) maxY[s] = y;
    }
  }
  const intensity = maps.intensity ? meansPerObject(slots, k, areas, maps.intensity.data) : null;
  const uncertainty = maps.uncertainty ? meansPerObject(slots, k, areas, maps.uncertainty.data) : null;
  const rows: ObjectRow[] = [];
  for (let s = 0; s < k; s++) {
    rows.push({
      id: ids[s]!,
      area: areas[s]!,
      centroidX: sumX[s]! / areas[s]!,
      centroidY: sumY[s]! / areas[s]!,
      bboxX: minX[s]!,
      bboxY: minY[s]!,
      bboxWidth: maxX[s]! - minX[s]! + 1,
      bboxHeight: maxY[s]! - minY[s]! + 1,
      meanIntensity: intensity ? intensity[s]! : null,
      meanUncertainty: uncertainty ? uncertainty[s]! : null,
    });
  }
  return rows;
}

function meansPerObject(
  slots: Int32Array,
  k: number,
  areas: Uint32Array,
  values: Float32Array,
): Float64Array {
  const sums = new Float64Array(k);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (s >= 0) sums[s]! += values[i]!;
  }
  for (let s = 0; s < k; s++) sums[s]! /= areas[s]!;
  return sums;
}
