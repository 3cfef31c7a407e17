import { existsSync } from 'node:fs';
import {
  type AggregationRule,
  type EnsembleRunner,
  type SegmentationSpec,
  tfEnsembleRunner,
} from '@quorum/shared';
import type * as tf from '@tensorflow/tfjs';
import type { LoadedSample } from '../data/dataset';
import { BASELINE_SEEDS, baselineDirs } from '../ensemble/baselines';
import { loadCheckpoints } from '../ensemble/export';
import { ensembleLayout } from '../ensemble/layout';
import { type EvaluateOptions, type Evaluation, evaluate } from '../evaluate/evaluate';
import type { LoadedEnsemble } from '../store/load-ensemble';

/**
 * Every system the report compares, evaluated on the same images through the same segmentation path:
 * the exported mode-fold ensemble under each aggregation rule, with and without flip TTA; the pooled single U-Nets
 * (one row per seed, summarised as mean and std); the random K-fold ensemble. Baselines appear when trained.
 */
export interface SystemResult {
  name: string;
  group: 'mode-fold' | 'pooled-single' | 'random-kfold';
  rule: AggregationRule;
  tta: boolean;
  members: number;
  seed?: number;
  evaluation: Evaluation;
}

export interface EvaluateSystemsOptions {
  ensembleDir: string;
  /** The exported ensemble, loaded (and disposed) by the caller. */
  shipped: LoadedEnsemble;
  samples: readonly LoadedSample[];
  modeOf: (id: string) => string;
  log: (s: string) => void;
  /** Called with the shipped ensemble's segmentation of each image (mean rule, no TTA), for figures. */
  onImage?: EvaluateOptions['onImage'];
}

async function withModels<T>(models: tf.LayersModel[], f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } finally {
    for (const m of models) m.dispose();
  }
}

export async function evaluateSystems(o: EvaluateSystemsOptions): Promise<SystemResult[]> {
  const results: SystemResult[] = [];
  const { shipped } = o;
  const spec: SegmentationSpec = shipped.manifest;
  const memberCount = shipped.manifest.members.length;
  for (const tta of [false, true]) {
    for (const rule of ['mean', 'vote', 'union'] as const) {
      o.log(`evaluating mode-fold ensemble: ${rule}${tta ? ' + flip TTA' : ''}`);
      const evaluation = await evaluate(shipped.runner, spec, o.samples, o.modeOf, {
        rule,
        tta,
        ...(!tta && rule === 'mean' && o.onImage ? { onImage: o.onImage } : {}),
      });
      results.push({
        name: `mode-fold ensemble (${rule}${tta ? ', TTA' : ''})`,
        group: 'mode-fold',
        rule,
        tta,
        members: memberCount,
        evaluation,
      });
    }
  }
  const dirs = baselineDirs(o.ensembleDir);
  const runBaseline = async (
    dir: string,
    ids: string[] | undefined,
    f: (runner: EnsembleRunner, n: number) => Promise<void>,
  ) => {
    if (!existsSync(ensembleLayout(dir).partition)) return false;
    const { records, models } = await loadCheckpoints(dir, ids).catch(() => ({ records: [], models: [] }));
    if (!models.length) return false;
    await withModels(models, () =>
      f(
        tfEnsembleRunner(
          models,
          records.map((r) => ({ id: r.id, mode: r.mode })),
        ),
        models.length,
      ),
    );
    return true;
  };
  for (const tta of [false, true]) {
    for (const seed of BASELINE_SEEDS) {
      await runBaseline(dirs.pooled(seed), ['all-f0'], async (runner) => {
        o.log(`evaluating pooled single U-Net, seed ${seed}${tta ? ' + flip TTA' : ''}`);
        const evaluation = await evaluate(runner, spec, o.samples, o.modeOf, { rule: 'mean', tta });
        results.push({
          name: `single U-Net, pooled data (seed ${seed}${tta ? ', TTA' : ''})`,
          group: 'pooled-single',
          rule: 'mean',
          tta,
          members: 1,
          seed,
          evaluation,
        });
      });
    }
    await runBaseline(dirs.randomKFold, undefined, async (runner, n) => {
      for (const rule of ['mean', 'vote', 'union'] as const) {
        o.log(`evaluating random ${n}-fold ensemble: ${rule}${tta ? ' + flip TTA' : ''}`);
        const evaluation = await evaluate(runner, spec, o.samples, o.modeOf, { rule, tta });
        results.push({
          name: `random K-fold ensemble (${rule}${tta ? ', TTA' : ''})`,
          group: 'random-kfold',
          rule,
          tta,
          members: n,
          evaluation,
        });
      }
    });
  }
  return results;
}
