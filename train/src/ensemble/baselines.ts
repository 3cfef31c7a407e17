import { join } from 'node:path';
import type { TrainConfig } from './config';
import type { ModeRequest } from './modes';
import { type TrainEnsembleRequest, trainEnsemble } from './train-ensemble';

/**
 * The paper's comparisons, trained with the same machinery (and so resumable the same way):
 * - pooled single U-Nets: one model on all training images (modes ignored), early-stopped on a seeded 1/5 of them,
 *   one per seed, so the report can give mean and seed-to-seed std;
 * - a random K-fold ensemble of the same size as the mode-fold one, ignoring modes.
 */
export const BASELINE_SEEDS = [0, 1, 2] as const;
const POOLED_FOLDS = 5;

export function baselineDirs(outDir: string) {
  return {
    pooled: (seed: number) => join(outDir, 'baselines', `pooled-s${seed}`),
    randomKFold: join(outDir, 'baselines', 'random-kfold'),
  };
}

type BaseConfig = Omit<TrainConfig, 'data' | 'modes'> & { dataDir: string; modes: ModeRequest };

export async function trainBaselines(
  outDir: string,
  config: BaseConfig,
  members: number,
  log: (s: string) => void,
  onProgress?: TrainEnsembleRequest['onProgress'],
): Promise<void> {
  const dirs = baselineDirs(outDir);
  for (const seed of BASELINE_SEEDS) {
    log(`baseline: pooled single U-Net, seed ${seed}`);
    await trainEnsemble({
      outDir: dirs.pooled(seed),
      config: { ...config, modes: { kind: 'single' }, folds: POOLED_FOLDS, seed },
      only: ['all-f0'],
      log: (s) => log(`  ${s}`),
      ...(onProgress ? { onProgress } : {}),
    });
  }
  log(`baseline: random ${members}-fold ensemble ignoring modes`);
  await trainEnsemble({
    outDir: dirs.randomKFold,
    config: { ...config, modes: { kind: 'single' }, folds: members },
    log: (s) => log(`  ${s}`),
    ...(onProgress ? { onProgress } : {}),
  });
}
