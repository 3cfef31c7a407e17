import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildUNet,
  createRandom,
  type MemberPlan,
  outputChannels,
  sizeMultiple,
  type TilingSpec,
  type UNetConfig,
} from '@quorum/shared';
import * as tf from '@tensorflow/tfjs';
import type { LoadedSample } from '../data/dataset';
import { readJson, writeJsonAtomic } from '../store/files';
import { readModelDir, writeModelDir } from '../store/model-dir';
import { type AugmentOptions, samplePatch } from './augment';
import { explainBackendFailure } from './backend-failure';
import { contourTarget } from './contour-target';
import { type LossWeights, segmentationLoss } from './loss';
import { borderWeights, NO_TOUCH_TARGETS, type TouchTargets, touchGapTarget } from './touch-targets';
import { validationDice } from './validate';

/**
 * Train one ensemble member: Adam on augmented patches of the member's training images, validation Dice on its
 * held-out fold after every epoch, early stopping with patience, and the best epoch's weights kept.
 *
 * Crash safety: after each epoch the current weights and loop state go to `workDir/last` and the best weights to
 * `workDir/best`, each swapped in atomically. A rerun resumes from `last` (Adam's moments restart; the augmentation
 * stream does not, as each epoch draws from its own seeded stream), so a kill loses at most one epoch.
 */
export interface MemberTrainingOptions {
  architecture: UNetConfig;
  tiling: TilingSpec;
  patch: number;
  batch: number;
  stepsPerEpoch: number;
  epochs: number;
  patience: number;
  learningRate: number;
  seed: number;
  loss: LossWeights;
  /** Gaps and border weights between touching objects; absent in configs from before they existed: none. */
  touch?: TouchTargets;
  augment: Omit<AugmentOptions, 'patch'>;
}

export interface EpochReport {
  member: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  validationDice: number | null;
  bestDice: number | null;
  /** Seconds per step, measured over this run. */
  secondsPerStep: number;
}

export interface MemberResult {
  id: string;
  validationDice: number;
  bestEpoch: number;
  epochsRun: number;
  /** Wall-clock seconds of training (all sittings). */
  seconds: number;
  /** CPU seconds of this process spent training it (all sittings): the cost figure, independent of machine load. */
  cpuSeconds: number;
}

interface LoopState {
  epoch: number;
  bestDice: number;
  bestEpoch: number;
  sinceBest: number;
  seconds: number;
  cpuSeconds: number;
}

export async function trainMember(
  plan: MemberPlan,
  samples: ReadonlyMap<string, LoadedSample>,
  opts: MemberTrainingOptions,
  workDir: string,
  onProgress: (r: EpochReport) => void = () => {},
): Promise<{ result: MemberResult; model: tf.LayersModel }> {
  const withContour = opts.architecture.contour === true;
  const touch = opts.touch ?? NO_TOUCH_TARGETS;
  const weighted = touch.borderWeight !== null;
  // Targets derived from the labels are computed once per training image, not per patch.
  const train = plan.trainIds.map((id) => {
    const s = samples.get(id)!;
    return {
      ...s,
      ...(touch.gap > 0 ? { mask: touchGapTarget(s.labels, s.width, s.height, touch.gap) } : {}),
      ...(withContour ? { contour: contourTarget(s.labels, s.width, s.height) } : {}),
      ...(touch.borderWeight
        ? { weight: borderWeights(s.labels, s.width, s.height, touch.borderWeight) }
        : {}),
    };
  });
  const val = plan.validationIds.map((id) => samples.get(id)!);
  const memberSeed = createRandom(opts.seed)
    .fork(`member:${plan.id}`)
    .int(2 ** 31);
  const model = buildUNet(opts.architecture, memberSeed);
  const lastDir = join(workDir, 'last');
  const bestDir = join(workDir, 'best');
  const statePath = join(workDir, 'state.json');
  let state: LoopState = { epoch: 0, bestDice: -1, bestEpoch: -1, sinceBest: 0, seconds: 0, cpuSeconds: 0 };
  if (existsSync(statePath) && existsSync(join(lastDir, 'model.json'))) {
    // State files from before CPU accounting have no cpuSeconds: count from zero.
    const saved = readJson<Omit<LoopState, 'cpuSeconds'> & { cpuSeconds?: number }>(statePath);
    state = { ...saved, cpuSeconds: saved.cpuSeconds ?? 0 };
    const resumed = await readModelDir(lastDir);
    model.setWeights(resumed.getWeights());
    resumed.dispose();
  }
  const optimizer = tf.train.adam(opts.learningRate);
  const lossFn = segmentationLoss(opts.loss);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);

  const p = opts.patch;
  const channels = outputChannels(opts.architecture);
  const xs = new Float32Array(opts.batch * p * p);
  const ys = new Float32Array(opts.batch * p * p * channels);
  // Loss weights per target element: the border weight on the foreground channel, 1 on the contour channel.
  const ws = weighted ? new Float32Array(opts.batch * p * p * channels).fill(1) : undefined;
  // Per-patch targets, interleaved into ys (and ws) as [batch, p, p, channels] when there is a contour channel.
  const patchMask = new Float32Array(p * p);
  const patchContour = withContour ? new Float32Array(p * p) : undefined;
  const patchWeight = weighted ? new Float32Array(p * p) : undefined;
  const multiple = sizeMultiple(opts.architecture);
  let stepsTimed = 0;
  let timeStepping = 0;
  while (state.epoch < opts.epochs && state.sinceBest < opts.patience) {
    const rng = createRandom(memberSeed).fork(`epoch:${state.epoch}`);
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    let lossSum = 0;
    for (let step = 0; step < opts.stepsPerEpoch; step++) {
      for (let b = 0; b < opts.batch; b++) {
        const src = train[rng.int(train.length)]!;
        samplePatch(src, { ...opts.augment, patch: p }, rng, {
          image: xs.subarray(b * p * p, (b + 1) * p * p),
          mask: patchMask,
          ...(patchContour ? { contour: patchContour } : {}),
          ...(patchWeight ? { weight: patchWeight } : {}),
        });
        const base = b * p * p * channels;
        for (let i = 0; i < p * p; i++) {
          ys[base + i * channels] = patchMask[i]!;
          if (patchContour) ys[base + i * channels + 1] = patchContour[i]!;
          if (patchWeight) ws![base + i * channels] = patchWeight[i]!;
        }
      }
      const t0 = performance.now();
      const x = tf.tensor4d(xs, [opts.batch, p, p, 1]);
      const y = tf.tensor4d(ys, [opts.batch, p, p, channels]);
      const w = ws ? tf.tensor4d(ws, [opts.batch, p, p, channels]) : undefined;
      let loss: number;
      try {
        const value = optimizer.minimize(
          () => lossFn(y, model.apply(x, { training: true }) as tf.Tensor, w),
          true,
          variables,
        )!;
        loss = (await value.data())[0]!;
        value.dispose();
      } catch (e) {
        throw explainBackendFailure(e, tf.getBackend(), opts);
      } finally {
        x.dispose();
        y.dispose();
        w?.dispose();
      }
      timeStepping += performance.now() - t0;
      stepsTimed++;
      lossSum += loss;
      if (!Number.isFinite(loss))
        throw new Error(`member ${plan.id}: loss became ${loss} at epoch ${state.epoch + 1}; lower --lr`);
      onProgress({
        member: plan.id,
        epoch: state.epoch + 1,
        epochs: opts.epochs,
        step: step + 1,
        steps: opts.stepsPerEpoch,
        loss: lossSum / (step + 1),
        validationDice: null,
        bestDice: state.bestDice >= 0 ? state.bestDice : null,
        secondsPerStep: timeStepping / stepsTimed / 1000,
      });
    }
    const dice = await validationDice(model, val, opts.tiling, multiple);
    state.epoch++;
    state.seconds += (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    state.cpuSeconds += (cpu.user + cpu.system) / 1e6;
    if (dice > state.bestDice) {
      state = { ...state, bestDice: dice, bestEpoch: state.epoch, sinceBest: 0 };
      await writeModelDir(bestDir, model);
    } else {
      state.sinceBest++;
    }
    await writeModelDir(lastDir, model);
    writeJsonAtomic(statePath, state);
    onProgress({
      member: plan.id,
      epoch: state.epoch,
      epochs: opts.epochs,
      step: opts.stepsPerEpoch,
      steps: opts.stepsPerEpoch,
      loss: lossSum / opts.stepsPerEpoch,
      validationDice: dice,
      bestDice: state.bestDice,
      secondsPerStep: timeStepping / Math.max(1, stepsTimed) / 1000,
    });
  }
  model.dispose();
  optimizer.dispose();
  const best = await readModelDir(bestDir);
  rmSync(lastDir, { recursive: true, force: true });
  return {
    result: {
      id: plan.id,
      validationDice: state.bestDice,
      bestEpoch: state.bestEpoch,
      epochsRun: state.epoch,
      seconds: state.seconds,
      cpuSeconds: state.cpuSeconds,
    },
    model: best,
  };
}
