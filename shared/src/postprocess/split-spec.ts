import { QuorumInputError } from '../errors';

// The split's parameters apart from its algorithm, so the manifest validator (and the edge worker's bundle)
// need not import the watershed.
/**
 * How touching objects are separated, by a marker watershed inside the mask:
 * - 'distance-watershed': one marker per maximum of each object's (smoothed) distance to the background that
 *   stands at least `h` pixels above the saddle to a higher one; the mask is flooded over the inverted distance.
 *   Needs only the mask, but cannot split objects whose merged mask has no neck; with `core`, the maxima are
 *   those of the confident core's distance (needs the probability map), which has necks where the mask has none.
 * - 'probability-watershed': one marker per connected region where the ensemble's probability is at least `seed`;
 *   the mask is flooded over 1 - probability, so objects part along the probability valley between them even
 *   where the thresholded mask merged them without a neck.
 * - 'contour-watershed': needs members with a contour output (UNetConfig.contour). One marker per connected region
 *   of the mask whose contour probability is below `core`; the mask is flooded over the contour probability, so
 *   objects part along the learnt contour between them.
 */
export type SplitSpec =
  | {
      method: 'distance-watershed';
      /** Minimum dynamic of a distance maximum, in pixels (scikit-image's h_maxima `h`). */
      h: number;
      /** Gaussian sigma applied to the distance map before finding maxima, in pixels. */
      sigma: number;
      /**
       * Find the maxima on the distance map of the ensemble's confident core (probability > core, above the
       * threshold) instead of the whole mask's, so nuclei joined only by less certain pixels get a marker each;
       * the mask is still flooded over its own distance. Absent: the mask's.
       */
      core?: number;
    }
  | {
      method: 'probability-watershed';
      /** Probability at or above which a pixel belongs to an object's core (a marker); above the threshold. */
      seed: number;
    }
  | {
      method: 'contour-watershed';
      /** Contour probability below which a mask pixel belongs to an object's core (a marker). */
      core: number;
    };

export const SPLIT_METHODS = ['distance-watershed', 'probability-watershed', 'contour-watershed'] as const;

/** Whether a split reads the ensemble's probability map (not only the mask). */
export function splitNeedsProbability(spec: SplitSpec | undefined): boolean {
  return (
    spec?.method === 'probability-watershed' ||
    (spec?.method === 'distance-watershed' && spec.core !== undefined)
  );
}

/** Whether a split needs the members' contour output. */
export function splitNeedsContour(spec: SplitSpec | undefined): boolean {
  return spec?.method === 'contour-watershed';
}

export function checkSplitSpec(spec: SplitSpec, subject = 'split'): void {
  if (spec.method === 'probability-watershed') {
    if (!(Number.isFinite(spec.seed) && spec.seed > 0 && spec.seed < 1))
      throw new QuorumInputError('invalid-value', `${subject}.seed`, `is ${spec.seed}; want 0 < seed < 1`);
    return;
  }
  if (spec.method === 'contour-watershed') {
    if (!(Number.isFinite(spec.core) && spec.core > 0 && spec.core < 1))
      throw new QuorumInputError('invalid-value', `${subject}.core`, `is ${spec.core}; want 0 < core < 1`);
    return;
  }
  if (spec.method !== 'distance-watershed')
    throw new QuorumInputError(
      'invalid-value',
      `${subject}.method`,
      `is ${(spec as { method: unknown }).method}; want ${SPLIT_METHODS.join(' or ')}`,
    );
  if (!(Number.isFinite(spec.h) && spec.h > 0 && spec.h <= 100))
    throw new QuorumInputError('invalid-value', `${subject}.h`, `is ${spec.h}; want 0 < h <= 100`);
  if (!(Number.isFinite(spec.sigma) && spec.sigma >= 0 && spec.sigma <= 20))
    throw new QuorumInputError(
      'invalid-value',
      `${subject}.sigma`,
      `is ${spec.sigma}; want 0 <= sigma <= 20`,
    );
  if (spec.core !== undefined && !(Number.isFinite(spec.core) && spec.core > 0 && spec.core < 1))
    throw new QuorumInputError('invalid-value', `${subject}.core`, `is ${spec.core}; want 0 < core < 1`);
}
