import { QuorumInputError } from '../errors';
import { distanceTransform } from './distance-transform';
import { gaussianBlur } from './gaussian';
import { hMaxima } from './h-maxima';
import { type Labelled, labelComponents } from './label';
import { checkSameSize, type Mask, type ProbabilityMap } from './map2d';
import { relabelSequential } from './relabel';
import { checkSplitSpec, type SplitSpec } from './split-spec';
import { markerWatershed } from './watershed';

export {
  checkSplitSpec,
  SPLIT_METHODS,
  type SplitSpec,
  splitNeedsContour,
  splitNeedsProbability,
} from './split-spec';

/** The per-pixel maps some split methods read besides the mask, each the mask's size. */
export interface SplitMaps {
  /** The ensemble's probability map ('probability-watershed'). */
  probability?: ProbabilityMap;
  /** The ensemble's contour probability map ('contour-watershed'). */
  contour?: ProbabilityMap;
}

/**
 * Splits touching objects of a mask into instances. Ids are 1..count in raster order of each object's first
 * pixel, as `labelComponents`. Every foreground pixel keeps a label: a component without a marker (a shallow
 * distance maximum, or no pixel reaching the seed probability) stays one object. 'probability-watershed' reads
 * `maps.probability` and 'contour-watershed' `maps.contour`.
 */
export function splitTouching(mask: Mask, spec: SplitSpec, maps: SplitMaps = {}): Labelled {
  checkSplitSpec(spec);
  const { width, height } = mask;
  const n = width * height;
  const seeds = new Uint8Array(n);
  const relief = new Float64Array(n);
  if (spec.method === 'contour-watershed') {
    const contour = requiredMap(
      mask,
      maps.contour,
      'contour map',
      'the contour-watershed split needs members with a contour output',
    );
    for (let i = 0; i < n; i++) {
      const c = contour.data[i]!;
      seeds[i] = mask.data[i] !== 0 && c < spec.core ? 1 : 0;
      relief[i] = c;
    }
  } else if (spec.method === 'probability-watershed') {
    const probability = requiredMap(
      mask,
      maps.probability,
      'probability map',
      'the probability-watershed split needs it',
    );
    for (let i = 0; i < n; i++) {
      const p = probability.data[i]!;
      seeds[i] = mask.data[i] !== 0 && p >= spec.seed ? 1 : 0;
      relief[i] = 1 - p;
    }
  } else {
    const distance = gaussianBlur(distanceTransform(mask), spec.sigma);
    const peaks = hMaxima(
      spec.core === undefined
        ? distance
        : coreDistance(
            mask,
            requiredMap(
              mask,
              maps.probability,
              'probability map',
              'a distance watershed with a core level needs it',
            ),
            spec.core,
            spec.sigma,
          ),
      spec.h,
    );
    for (let i = 0; i < n; i++) {
      seeds[i] = mask.data[i] !== 0 && peaks.data[i] !== 0 ? 1 : 0;
      relief[i] = -distance.data[i]!;
    }
  }
  const markers = labelComponents({ width, height, data: seeds }, 8);
  const flooded = markerWatershed({ width, height, data: relief }, markers.labels, mask);
  let unreached = false;
  for (let i = 0; i < n; i++) {
    if (mask.data[i] !== 0 && flooded.data[i] === 0) {
      unreached = true;
      break;
    }
  }
  if (unreached) {
    const rest = new Uint8Array(n);
    for (let i = 0; i < n; i++) rest[i] = mask.data[i] !== 0 && flooded.data[i] === 0 ? 1 : 0;
    const extra = labelComponents({ width, height, data: rest }, 8);
    for (let i = 0; i < n; i++)
      if (extra.labels.data[i] !== 0) flooded.data[i] = markers.count + extra.labels.data[i]!;
  }
  return relabelSequential(flooded);
}

/** `map`, checked present and of the mask's size; `why` says which split needs it. */
function requiredMap(mask: Mask, map: ProbabilityMap | undefined, name: string, why: string): ProbabilityMap {
  if (!map) throw new QuorumInputError('missing', name, why);
  checkSameSize(mask, 'mask', map, name);
  return map;
}

/** The smoothed distance map of the mask's confident core: mask pixels whose probability exceeds `core`. */
function coreDistance(
  mask: Mask,
  probability: ProbabilityMap,
  core: number,
  sigma: number,
): ReturnType<typeof distanceTransform> {
  // A plain loop: Uint8Array.from with a callback took about a second on a 4-megapixel image.
  const data = new Uint8Array(mask.data.length);
  const p = probability.data;
  for (let i = 0; i < data.length; i++) data[i] = mask.data[i] !== 0 && p[i]! > core ? 1 : 0;
  return gaussianBlur(distanceTransform({ width: mask.width, height: mask.height, data }), sigma);
}
