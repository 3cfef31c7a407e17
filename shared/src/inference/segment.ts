import { aggregate, type UncertaintyMaps } from '../aggregate/rules';
import { perModeWeights } from '../aggregate/statistics';
import { QuorumInputError } from '../errors';
import { imageToFloat } from '../image';
import type { RasterImage } from '../image/types';
import type { AggregationRule, EnsembleManifest } from '../manifest/schema';
import { sizeMultiple } from '../model/config';
import { normalizePercentile } from '../normalize/percentile';
import type { LabelImage32, Mask } from '../postprocess/map2d';
import type { ObjectRow } from '../postprocess/objects';
import { postprocess } from '../postprocess/pipeline';
import { nowMs, type SegmentTimings } from './clock';
import { type AdaptiveMode, type InferenceProgress, inferEnsemble } from './pipeline';
import type { EnsembleRunner } from './runner';

/**
 * The whole product pipeline on one decoded image: normalise (whole image) -> tile/infer/blend -> aggregate ->
 * post-process. The Node CLI and the browser engine both call this, so their masks agree by construction.
 */
export type SegmentationSpec = Pick<
  EnsembleManifest,
  'architecture' | 'input' | 'tiling' | 'aggregation' | 'postprocess'
>;

export interface SegmentOptions {
  /** Override the manifest's aggregation rule. */
  rule?: AggregationRule;
  threshold?: number;
  /** Give each mode an equal say regardless of its number of folds (ignored when the manifest sets weights). */
  perModeWeighting?: boolean;
  tta?: boolean;
  /** 'exact': skip member evaluations that cannot change the mask (the mask is identical to 'off'). */
  adaptive?: AdaptiveMode;
  batchSize?: number;
  signal?: { readonly aborted: boolean };
  onProgress?: (p: InferenceProgress) => void;
}

export interface Segmentation {
  width: number;
  height: number;
  rule: AggregationRule;
  /** Post-processed foreground (holes filled, small objects removed). */
  mask: Mask;
  labels: LabelImage32;
  count: number;
  objects: ObjectRow[];
  /** The map the rule thresholds: mean probability, vote fraction or max (union). */
  probability: Float32Array;
  /** The members' weighted mean contour probability, when they have a contour output. */
  contour: Float32Array | null;
  uncertainty: UncertaintyMaps;
  evaluations: number;
  /** Evaluations a full run would have made; the adaptive mode's saving is 1 - evaluations / fullEvaluations. */
  fullEvaluations: number;
  /** The image as the members saw it: float, percentile-normalised over the whole image. */
  normalized: Float32Array;
  timings: SegmentTimings;
}

export function memberWeights(
  spec: SegmentationSpec,
  runner: EnsembleRunner,
  perMode: boolean,
): number[] | undefined {
  const w = spec.aggregation.weights;
  if (w) return runner.members.map((m) => w[m.id] ?? 0);
  return perMode ? perModeWeights(runner.members.map((m) => m.mode)) : undefined;
}

export async function segmentImage(
  image: RasterImage,
  spec: SegmentationSpec,
  runner: EnsembleRunner,
  options: SegmentOptions = {},
): Promise<Segmentation> {
  if (image.channels !== 1) {
    throw new QuorumInputError(
      'invalid-value',
      'image',
      `has ${image.channels} channels; select one channel first`,
    );
  }
  const { width, height } = image;
  const t0 = nowMs();
  const raw = imageToFloat(image);
  const normalized = normalizePercentile(raw, spec.input.normalization);
  const tNormalized = nowMs();
  const rule = options.rule ?? spec.aggregation.rule;
  const threshold = options.threshold ?? spec.aggregation.threshold;
  const weights = memberWeights(spec, runner, options.perModeWeighting ?? false);
  const inference = await inferEnsemble(normalized, width, height, runner, {
    tiling: spec.tiling,
    multiple: sizeMultiple(spec.architecture),
    threshold,
    rule,
    adaptive: options.adaptive ?? 'off',
    ...(weights ? { weights } : {}),
    ...(options.tta !== undefined ? { tta: options.tta } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const tInferred = nowMs();
  const agg = aggregate(inference.statistics, rule, threshold);
  const tAggregated = nowMs();
  const cut = rule === 'vote' ? 0.5 : threshold;
  const post = postprocess(
    { width, height, data: agg.probability },
    {
      threshold: cut,
      fillHoles: spec.postprocess.fillHoles,
      minArea: spec.postprocess.minArea,
      ...(spec.postprocess.split ? { split: spec.postprocess.split } : {}),
    },
    { intensity: { width, height, data: raw }, uncertainty: { width, height, data: agg.uncertainty.std } },
    inference.contour ? { width, height, data: inference.contour } : undefined,
  );
  return {
    width,
    height,
    rule,
    mask: post.mask,
    labels: post.labels,
    count: post.count,
    objects: post.objects,
    probability: agg.probability,
    contour: inference.contour,
    uncertainty: agg.uncertainty,
    evaluations: inference.evaluations,
    fullEvaluations: inference.fullEvaluations,
    normalized,
    timings: {
      normalize: tNormalized - t0,
      members: inference.memberMs,
      blend: tInferred - tNormalized - inference.memberMs,
      aggregate: tAggregated - tInferred,
      postprocess: nowMs() - tAggregated,
    },
  };
}
