import { QuorumInputError } from '../errors';
import { distanceTransform } from './distance-transform';
import { gaussianBlur } from './gaussian';
import { hMaxima } from './h-maxima';
import { type Labelled, labelComponents } from './label';
import type { Mask } from './map2d';
import { relabelSequential } from './relabel';
import { markerWatershed } from './watershed';

/**
 * How touching objects are separated: the distance-transform watershed. Each object gets one marker per maximum
 * of its (smoothed) distance to the background that stands at least `h` pixels above the saddle to a higher one;
 * the mask is then flooded from the markers. `sigma` 0 skips the smoothing.
 */
export interface SplitSpec {
  method: 'distance-watershed';
  /** Minimum dynamic of a distance maximum, in pixels (scikit-image's h_maxima `h`). */
  h: number;
  /** Gaussian sigma applied to the distance map before finding maxima, in pixels. */
  sigma: number;
}

export function checkSplitSpec(spec: SplitSpec, subject = 'split'): void {
  if (spec.method !== 'distance-watershed')
    throw new QuorumInputError(
      'invalid-value',
      `${subject}.method`,
      `is ${spec.method}; want distance-watershed`,
    );
  if (!(Number.isFinite(spec.h) && spec.h > 0 && spec.h <= 100))
    throw new QuorumInputError('invalid-value', `${subject}.h`, `is ${spec.h}; want 0 < h <= 100`);
  if (!(Number.isFinite(spec.sigma) && spec.sigma >= 0 && spec.sigma <= 20))
    throw new QuorumInputError(
      'invalid-value',
      `${subject}.sigma`,
      `is ${spec.sigma}; want 0 <= sigma <= 20`,
    );
}

/**
 * Splits touching objects of a mask into instances. Ids are 1..count in raster order of each object's first
 * pixel, as `labelComponents`. Every foreground pixel keeps a label: a component without a marker (possible
 * only when h exceeds its depth) stays one object.
 */
export function splitTouching(mask: Mask, spec: SplitSpec): Labelled {
  checkSplitSpec(spec);
  const { width, height } = mask;
  const distance = gaussianBlur(distanceTransform(mask), spec.sigma);
  const peaks = hMaxima(distance, spec.h);
  for (let i = 0; i < peaks.data.length; i++) if (mask.data[i] === 0) peaks.data[i] = 0;
  const markers = labelComponents(peaks, 8);
  const relief = new Float64Array(distance.data.length);
  for (let i = 0; i < relief.length; i++) relief[i] = -distance.data[i]!;
  const flooded = markerWatershed({ width, height, data: relief }, markers.labels, mask);
  let unreached = false;
  for (let i = 0; i < flooded.data.length; i++) {
    if (mask.data[i] !== 0 && flooded.data[i] === 0) {
      unreached = true;
      break;
    }
  }
  if (unreached) {
    const rest = new Uint8Array(mask.data.length);
    for (let i = 0; i < rest.length; i++) rest[i] = mask.data[i] !== 0 && flooded.data[i] === 0 ? 1 : 0;
    const extra = labelComponents({ width, height, data: rest }, 8);
    for (let i = 0; i < rest.length; i++)
      if (extra.labels.data[i] !== 0) flooded.data[i] = markers.count + extra.labels.data[i]!;
  }
  return relabelSequential(flooded);
}
