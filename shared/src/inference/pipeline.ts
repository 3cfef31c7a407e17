import {
  channelsToStatistics,
  type MemberStatistics,
  memberStatistics,
  statisticsToChannels,
} from '../aggregate/statistics';
import { QuorumInputError } from '../errors';
import type { TilingSpec } from '../manifest/schema';
import { BlendAccumulator } from '../tiling/blend';
import { extractWindow, planTiles, type TilePlan } from '../tiling/plan';
import { type Flip, flipBatch, TTA_FLIPS } from './flips';
import type { EnsembleRunner } from './runner';

/**
 * Tile -> infer -> blend for a whole ensemble on one normalised single-channel image. Per tile, every member runs
 * (optionally under flip TTA), the member outputs are reduced to linear statistics and blended into full-size
 * buffers; no tile output outlives its batch, so memory is the output buffers plus one batch.
 */
export interface EnsembleInferenceOptions {
  tiling: TilingSpec;
  /** The network's size multiple, 2^depth. */
  multiple: number;
  threshold: number;
  /** Member weights in runner order; equal when absent. */
  weights?: readonly number[];
  tta?: boolean;
  /** Tiles per member call. */
  batchSize?: number;
  /** An AbortSignal (only `aborted` is read, so shared/ needs no DOM types); checked before every member call. */
  signal?: { readonly aborted: boolean };
  onProgress?: (progress: InferenceProgress) => void;
}

export interface InferenceProgress {
  /** Member-tile evaluations done and planned (tiles x members x TTA variants). */
  done: number;
  total: number;
}

export interface EnsembleInference {
  plan: TilePlan;
  statistics: MemberStatistics;
  /** Member-tile evaluations run (each TTA variant counts once). */
  evaluations: number;
}

export class InferenceAbortedError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('segmentation was cancelled');
  }
}

export async function inferEnsemble(
  image: Float32Array,
  width: number,
  height: number,
  runner: EnsembleRunner,
  options: EnsembleInferenceOptions,
): Promise<EnsembleInference> {
  if (image.length !== width * height) {
    throw new QuorumInputError('mismatch', 'image', `has ${image.length} values for ${width}x${height}`);
  }
  const plan = planTiles(width, height, {
    tile: options.tiling.tile,
    halo: options.tiling.halo,
    multiple: options.multiple,
  });
  const { tileWidth: tw, tileHeight: th } = plan;
  const batchSize = Math.max(1, options.batchSize ?? 4);
  const flips: readonly Flip[] = options.tta ? TTA_FLIPS : ['none'];
  const memberCount = runner.members.length;
  const acc = new BlendAccumulator(plan, 4, options.tiling.blend);
  const total = plan.windows.length * memberCount * flips.length;
  let done = 0;
  const tilePixels = tw * th;
  const batch = new Float32Array(batchSize * tilePixels);
  const memberOut = Array.from({ length: memberCount }, () => new Float32Array(batchSize * tilePixels));

  for (let start = 0; start < plan.windows.length; start += batchSize) {
    const windows = plan.windows.slice(start, start + batchSize);
    const count = windows.length;
    windows.forEach((win, i) => {
      extractWindow(image, plan, win, batch.subarray(i * tilePixels, (i + 1) * tilePixels));
    });
    const input = batch.subarray(0, count * tilePixels);
    for (let m = 0; m < memberCount; m++) {
      const out = memberOut[m]!.subarray(0, count * tilePixels);
      out.fill(0);
      for (const flip of flips) {
        if (options.signal?.aborted) throw new InferenceAbortedError();
        const pred = await runner.predict(m, flipBatch(input, count, th, tw, flip), count, th, tw);
        if (pred.length !== count * tilePixels) {
          throw new QuorumInputError(
            'mismatch',
            `member ${runner.members[m]!.id}`,
            `returned ${pred.length} values for ${count} tiles of ${tw}x${th}`,
          );
        }
        const back = flipBatch(pred, count, th, tw, flip);
        for (let i = 0; i < out.length; i++) out[i]! += back[i]! / flips.length;
        done += count;
        options.onProgress?.({ done, total });
      }
    }
    for (let i = 0; i < count; i++) {
      const perMember = memberOut.map((o) => o.subarray(i * tilePixels, (i + 1) * tilePixels));
      const stats = memberStatistics(perMember, options.threshold, options.weights);
      acc.add(windows[i]!, statisticsToChannels(stats));
    }
  }
  return { plan, statistics: channelsToStatistics(acc.finish()), evaluations: done };
}
