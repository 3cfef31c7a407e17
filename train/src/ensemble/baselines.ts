import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QuorumInputError } from '@quorum/shared';
import type { TrainConfig } from './config';
import { ensembleLayout } from './layout';
import type { ModeRequest } from './modes';
import { type TrainEnsembleRequest, trainEnsemble } from './train-ensemble';

/**
 * The paper's comparisons, trained with the same machinery (and so resumable the same way):
 * - pooled single U-Nets: one model on all training images (modes ignored), early-stopped on a seeded 1/5 of them,
 *   one per seed, so the report can give mean and seed-to-seed std;
 * - a random K-fold ensemble of the same size as the mode-fold one, ignoring modes.
 *
 * Each baseline model has an id usable in `--members` (so baselines scale out like members do):
 * `pooled-s<seed>` and `random-kfold/all-f<k>`.
 */
export const BASELINE_SEEDS = [0, 1, 2] as const;
const POOLED_FOLDS = 5;
const POOLED_MEMBER = 'all-f0';
const RANDOM_PREFIX = 'random-kfold/';

export function baselineDirs(outDir: string) {
  return {
    pooled: (seed: number) => join(outDir, 'baselines', `pooled-s${seed}`),
    randomKFold: join(outDir, 'baselines', 'random-kfold'),
  };
}

/** Every baseline model id, for an ensemble of `members` members. */
export function baselineIds(members: number): string[] {
  return [
    ...BASELINE_SEEDS.map((s) => `pooled-s${s}`),
    ...Array.from({ length: members }, (_, k) => `${RANDOM_PREFIX}all-f${k}`),
  ];
}

export function isBaselineId(id: string): boolean {
  return /^pooled-s\d+$/.test(id) || id.startsWith(RANDOM_PREFIX);
}

type BaseConfig = Omit<TrainConfig, 'data' | 'modes'> & { dataDir: string; modes: ModeRequest };

/**
 * Trains the baselines (all, or those named in `only`) and returns the ids still untrained, so the caller knows
 * whether the report can compare them yet.
 */
export async function trainBaselines(
  outDir: string,
  config: BaseConfig,
  members: number,
  log: (s: string) => void,
  onProgress?: TrainEnsembleRequest['onProgress'],
  only?: readonly string[],
): Promise<string[]> {
  const all = baselineIds(members);
  for (const id of only ?? []) {
    if (!all.includes(id))
      throw new QuorumInputError(
        'invalid-value',
        '--members',
        `unknown baseline "${id}" (baselines: pooled-s0..${BASELINE_SEEDS.length - 1}, ${RANDOM_PREFIX}all-f0..${members - 1})`,
      );
  }
  const wanted = (id: string) => !only || only.includes(id);
  const dirs = baselineDirs(outDir);
  const progress = onProgress ? { onProgress } : {};
  for (const seed of BASELINE_SEEDS) {
    const pooledConfig = { ...config, modes: { kind: 'single' } as const, folds: POOLED_FOLDS, seed };
    const pooledOnly = wanted(`pooled-s${seed}`) ? [POOLED_MEMBER] : [];
    if (pooledOnly.length) log(`baseline: pooled single U-Net, seed ${seed}`);
    await trainEnsemble({
      outDir: dirs.pooled(seed),
      config: pooledConfig,
      only: pooledOnly,
      log: (s) => log(`  ${s}`),
      ...progress,
    });
  }
  const randomOnly = all
    .filter((id) => id.startsWith(RANDOM_PREFIX) && wanted(id))
    .map((id) => id.slice(RANDOM_PREFIX.length));
  if (randomOnly.length) log(`baseline: random ${members}-fold ensemble ignoring modes`);
  await trainEnsemble({
    outDir: dirs.randomKFold,
    config: { ...config, modes: { kind: 'single' }, folds: members },
    only: randomOnly,
    log: (s) => log(`  ${s}`),
    ...progress,
  });
  // Checked at the end, not as each part finishes: other jobs may have finished theirs meanwhile.
  return all.filter((id) => !baselineTrained(dirs, id));
}

function baselineTrained(dirs: ReturnType<typeof baselineDirs>, id: string): boolean {
  const pooled = /^pooled-s(\d+)$/.exec(id);
  return pooled
    ? existsSync(ensembleLayout(dirs.pooled(Number(pooled[1]))).memberInfo(POOLED_MEMBER))
    : existsSync(ensembleLayout(dirs.randomKFold).memberInfo(id.slice(RANDOM_PREFIX.length)));
}
