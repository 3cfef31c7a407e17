import type { NormalizationSpec, TilingSpec, WeightDtype } from '@quorum/shared';
import type { MemberTrainingOptions } from '../training/member';
import { NO_TOUCH_TARGETS } from '../training/touch-targets';

/**
 * Everything that determines a trained ensemble. Saved as `train-config.json` in the output folder: a rerun with
 * the same config resumes; a rerun with a different one is refused instead of mixing two ensembles' members.
 */
export interface TrainConfig extends Omit<MemberTrainingOptions, 'seed'> {
  data: { dir: string; trainIdsHash: string; trainImages: number };
  modes:
    | { kind: 'column'; column: string }
    | { kind: 'discovered'; modes: number | null }
    | { kind: 'single' };
  folds: number;
  /** Seeds the split, every member's initialisation and its augmentation stream. */
  seed: number;
  normalization: NormalizationSpec;
  quantize: WeightDtype | 'auto';
  /**
   * The largest tile of the exported manifest when it differs from `tiling.tile`, which is what the members are
   * validated with. Not part of what determines the members (see configDifferences): a rerun with another value
   * re-exports the same members with the new tiling instead of being refused.
   */
  exportTile?: number;
}

/** The tiling the exported ensemble (and every score of it: the split choice, quantization, the report) uses. */
export function exportTiling(config: Pick<TrainConfig, 'tiling' | 'exportTile'>): TilingSpec {
  return { ...config.tiling, tile: config.exportTile ?? config.tiling.tile };
}

/**
 * A saved config as this version reads it: configs written before the touch targets existed trained without them.
 */
export function savedConfig(saved: TrainConfig): TrainConfig {
  return { ...saved, touch: saved.touch ?? NO_TOUCH_TARGETS };
}

/**
 * Fields whose values differ between two configs, as dotted paths (empty when equal). Where the data lives
 * (`data.dir`) is not a difference: the same images (by `data.trainIdsHash`) on another machine resume fine. Nor
 * is the export tile, which changes how the finished members are exported, not the members.
 */
export function configDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (path === 'data.dir' || path === 'exportTile') return [];
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
