import { indexLabels } from './label-index';
import { checkMap, checkSameSize, type FloatMap, type LabelImage } from './map2d';
import { centralMoments, equivalentEllipse, perimeters } from './shape';

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
  /** Sum of the intensity map over the object's pixels (a nucleus' DNA content, in raw image units); null without it. */
  integratedIntensity: number | null;
  /** Mean of the uncertainty map over the object's pixels; null when no uncertainty map was given. */
  meanUncertainty: number | null;
  /** Diameter of the disc with the same area: sqrt(4 area / pi). */
  equivalentDiameter: number;
  /** Digital perimeter as scikit-image's `perimeter` (shape.ts); 0 for a single pixel or a one-pixel line. */
  perimeter: number;
  /**
   * 4 pi area / perimeter^2: about 1 for a disc, smaller for ragged or elongated shapes; above 1 for objects of a few
   * pixels, whose digital perimeter is short; null when the perimeter is 0.
   */
  circularity: number | null;
  /** Axes of the ellipse with the same second moments (shape.ts `equivalentEllipse`). */
  majorAxisLength: number;
  minorAxisLength: number;
  eccentricity: number;
  /** Major axis angle from the x axis, degrees counter-clockwise as displayed, in (-90, 90]. */
  orientation: number;
  /** 1 when the object has a pixel on the image's edge (so it may be cut off and its size understated), else 0. */
  touchesBorder: 0 | 1;
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
  const intensity = maps.intensity ? sumsPerObject(slots, k, maps.intensity.data) : null;
  const uncertainty = maps.uncertainty ? sumsPerObject(slots, k, maps.uncertainty.data) : null;
  const centroidX = sumX.map((v, s) => v / areas[s]!);
  const centroidY = sumY.map((v, s) => v / areas[s]!);
  const moments = centralMoments(slots, w, areas, centroidX, centroidY);
  const perimeter = perimeters(slots, w, labels.height, k);
  const rows: ObjectRow[] = [];
  for (let s = 0; s < k; s++) {
    const area = areas[s]!;
    const p = perimeter[s]!;
    rows.push({
      id: ids[s]!,
      area,
      centroidX: centroidX[s]!,
      centroidY: centroidY[s]!,
      bboxX: minX[s]!,
      bboxY: minY[s]!,
      bboxWidth: maxX[s]! - minX[s]! + 1,
      bboxHeight: maxY[s]! - minY[s]! + 1,
      meanIntensity: intensity ? intensity[s]! / area : null,
      integratedIntensity: intensity ? intensity[s]! : null,
      meanUncertainty: uncertainty ? uncertainty[s]! / area : null,
      equivalentDiameter: Math.sqrt((4 * area) / Math.PI),
      perimeter: p,
      circularity: p > 0 ? (4 * Math.PI * area) / (p * p) : null,
      ...equivalentEllipse(moments.xx[s]!, moments.yy[s]!, moments.xy[s]!),
      touchesBorder:
        minX[s] === 0 || minY[s] === 0 || maxX[s] === w - 1 || maxY[s] === labels.height - 1 ? 1 : 0,
    });
  }
  return rows;
}

function sumsPerObject(slots: Int32Array, k: number, values: Float32Array): Float64Array {
  const sums = new Float64Array(k);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (s >= 0) sums[s]! += values[i]!;
  }
  return sums;
}
