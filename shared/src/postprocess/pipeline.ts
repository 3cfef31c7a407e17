import { QuorumInputError } from '../errors';
import { fillHoles } from './fill-holes';
import { labelComponents } from './label';
import { type Connectivity, checkSameSize, type LabelImage32, type Mask, type ProbabilityMap } from './map2d';
import { type ObjectMaps, type ObjectRow, objectTable } from './objects';
import { relabelSequential } from './relabel';
import { removeSmallObjects } from './remove-small';
import { type SplitSpec, splitTouching } from './split';
import { threshold } from './threshold';

/** The manifest's `postprocess` spec plus the threshold; structurally compatible with both. */
export interface PostprocessOptions {
  /** Foreground where probability > threshold (strict). */
  threshold: number;
  /** Fill background regions enclosed by foreground (nuclei have no holes). */
  fillHoles: boolean;
  /** Objects with fewer pixels are dropped; 0 keeps all. */
  minArea: number;
  /** Object connectivity; default 8. */
  connectivity?: Connectivity;
  /** Separate touching objects (always 8-connected); absent: connected components. */
  split?: SplitSpec;
}

export interface PostprocessResult {
  /** Final foreground: exactly the pixels of the kept objects. */
  mask: Mask;
  /** Ids 1..count in raster order of each object's first pixel. */
  labels: LabelImage32;
  count: number;
  objects: ObjectRow[];
}

/**
 * Probability map to measured objects: threshold, fill holes (optional), label (or split touching objects),
 * drop objects under `minArea`,
 * renumber, measure. Holes are filled before the area filter so a ring-shaped nucleus is measured with its
 * filled area, and small objects are removed after labelling so "object" means the same connected component
 * throughout.
 */
export function postprocess(
  prob: ProbabilityMap,
  options: PostprocessOptions,
  maps: ObjectMaps = {},
  /** The ensemble's contour probability, for the 'contour-watershed' split. */
  contour?: ProbabilityMap,
): PostprocessResult {
  const connectivity = options.connectivity ?? 8;
  if (typeof options.fillHoles !== 'boolean') {
    throw new QuorumInputError('invalid-value', 'fillHoles', `is ${options.fillHoles}; want true or false`);
  }
  // Check sizes before any work, naming the probability map as the reference.
  if (maps.intensity) checkSameSize(prob, 'probability map', maps.intensity, 'intensity map');
  if (maps.uncertainty) checkSameSize(prob, 'probability map', maps.uncertainty, 'uncertainty map');
  let mask = threshold(prob, options.threshold);
  if (options.fillHoles) mask = fillHoles(mask);
  const labelled = options.split
    ? splitTouching(mask, options.split, { probability: prob, ...(contour ? { contour } : {}) })
    : labelComponents(mask, connectivity);
  const kept = removeSmallObjects(labelled.labels, options.minArea);
  const { labels, count } =
    options.minArea > 1 ? relabelSequential(kept) : { labels: kept, count: labelled.count };
  const data = new Uint8Array(labels.data.length);
  for (let i = 0; i < data.length; i++) data[i] = labels.data[i] !== 0 ? 1 : 0;
  return {
    mask: { width: prob.width, height: prob.height, data },
    labels,
    count,
    objects: objectTable(labels, maps),
  };
}
