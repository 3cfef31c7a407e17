import type { Partition } from '../folds/partition';
import type { UNetConfig } from '../model/config';
import type { SplitSpec } from '../postprocess/split-spec';

/**
 * The ensemble manifest: the one document the trainer writes, the edge registry stores and the browser loads.
 * Versioned by `schema`; a change that old readers cannot ignore bumps the version.
 */
export const MANIFEST_SCHEMA = 'quorum.ensemble/1';

/** A file of the ensemble, relative to the ensemble directory, addressed by content on the edge. */
export interface FileRef {
  path: string;
  bytes: number;
  /** Lowercase hex SHA-256 of the file's bytes. */
  sha256: string;
}

export interface NormalizationSpec {
  kind: 'percentile';
  /** Percentiles (0..100) mapped to 0 and 1; the paper-free default is 1 and 99.8. */
  low: number;
  high: number;
  clip: boolean;
}

export interface TilingSpec {
  /** Tile edge in pixels, a multiple of 2^depth. */
  tile: number;
  /** Overlap added on each side of a tile's core, in pixels. */
  halo: number;
  blend: 'gaussian' | 'taper';
}

export type AggregationRule = 'mean' | 'vote' | 'union';
export const AGGREGATION_RULES: readonly AggregationRule[] = ['mean', 'vote', 'union'];

export interface AggregationSpec {
  rule: AggregationRule;
  /** Threshold applied to each member (vote, union) or to the mean probability (mean). */
  threshold: number;
  /** Optional member weights by member id (mean and vote); absent means equal weights. */
  weights?: Record<string, number>;
}

export interface PostprocessSpec {
  fillHoles: boolean;
  /** Objects smaller than this many pixels are dropped. */
  minArea: number;
  /** Separate touching objects; absent: objects are the mask's connected components. */
  split?: SplitSpec;
}

export type WeightDtype = 'float32' | 'float16' | 'uint8';
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['float32', 'float16', 'uint8'];

export interface QuantizationVariant {
  dtype: WeightDtype;
  bytes: number;
  /** Test-split Dice of this variant minus float32's, measured; null when no test split was available. */
  diceDelta: number | null;
}

export interface QuantizationSpec {
  /** The dtype of the weights this manifest's files hold. */
  dtype: WeightDtype;
  variants: QuantizationVariant[];
}

export interface ManifestMember {
  id: string;
  mode: string;
  fold: number;
  /** SHA-256 of the sorted training ids joined by newlines: identifies the training set without listing it. */
  trainingIdsHash: string;
  trainingCount: number;
  validationIds: string[];
  /** Best Dice on the held-out fold (the early-stopping criterion). */
  validationDice: number;
  epochs: number;
  /** files[0] is the TF.js `model.json`; the rest are its weight shards. */
  files: FileRef[];
}

export interface SplitMetrics {
  split: string;
  images: number;
  dice: number;
  iou: number;
  objectF1: number;
  prAuc: number;
}

export interface EnsembleManifest {
  schema: typeof MANIFEST_SCHEMA;
  name: string;
  version: string;
  /** ISO 8601 time of export. */
  created: string;
  description?: string;
  format: 'tfjs-layers';
  architecture: UNetConfig;
  input: { channels: 1; normalization: NormalizationSpec };
  tiling: TilingSpec;
  members: ManifestMember[];
  partition: Partition;
  aggregation: AggregationSpec;
  postprocess: PostprocessSpec;
  quantization: QuantizationSpec;
  metrics: SplitMetrics | null;
}
