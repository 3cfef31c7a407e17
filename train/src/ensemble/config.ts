import type { NormalizationSpec, TilingSpec, UNetConfig, WeightDtype } from '@quorum/shared';
import type { LossWeights } from '../training/loss';
import type { MemberTrainingOptions } from '../training/member';

/**
 * Everything that determines a trained ensemble. Saved as `train-config.json` in the output folder: a rerun with
 * the same config resumes; a rerun with a different one is refused instead of mixing two ensembles' members.
 */
export interface TrainConfig {
  data: { dir: string; trainIdsHash: string; trainImages: number };
  modes:
    | { kind: 'column'; column: string }
    | { kind: 'discovered'; modes: number | null }
    | { kind: 'single' };
  folds: number;
  seed: number;
  architecture: UNetConfig;
  normalization: NormalizationSpec;
  tiling: TilingSpec;
  patch: number;
  batch: number;
  stepsPerEpoch: number;
  epochs: number;
  patience: number;
  learningRate: number;
  loss: LossWeights;
  augment: MemberTrainingOptions['augment'];
  quantize: WeightDtype | 'auto';
}

/** Fields whose values differ between two configs, as dotted paths (empty when equal). */
export function configDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [path || '(root)'];
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) =>
    configDifferences(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      path ? `${path}.${k}` : k,
    ),
  );
}

export function memberTrainingOptions(c: TrainConfig): MemberTrainingOptions {
  return {
    architecture: c.architecture,
    tiling: c.tiling,
    patch: c.patch,
    batch: c.batch,
    stepsPerEpoch: c.stepsPerEpoch,
    epochs: c.epochs,
    patience: c.patience,
    learningRate: c.learningRate,
    seed: c.seed,
    loss: c.loss,
    augment: c.augment,
  };
}
