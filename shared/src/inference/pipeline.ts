import {
  channelsToStatistics,
  type MemberStatistics,
  memberStatistics,
  normalizeWeights,
  STATISTIC_CHANNELS,
  statisticsToChannels,
} from '../aggregate/statistics';
import { QuorumInputError } from '../errors';
import type { AggregationRule, TilingSpec } from '../manifest/schema';
import { BlendAccumulator } from '../tiling/blend';
import { extractWindow, planTiles, type TilePlan } from '../tiling/plan';
import { RunningBounds, ruleBounds, ruleCut } from './bounds';
import { nowMs } from './clock';
import { type Flip, flipBatch, TTA_FLIPS } from './flips';
import type { EnsembleRunner } from './runner';

/**
 * Tile -> infer -> blend for a whole ensemble on one normalised single-channel image. Per tile, members run
 * (optionally under flip TTA), their outputs are reduced to linear statistics and blended into full-size buffers;
 * no tile output outlives its batch, so memory is the output buffers plus one batch.
 *
 * Adaptive mode 'exact' skips members that cannot change the mask: a tile stops once every pixel's final value is
 * bounded to one side of the threshold (see bounds.ts). Blending mixes neighbouring windows, so the bounds are
 * blended too; pixels whose blended bounds still straddle the threshold get their skipped windows re-run in full
 * (a second pass), after which the mask equals the one from running everything. With a contour output, only
 * certainly-background windows and pixels count as decided, so the contour map under the mask is exact too.
 * Skipped windows' uncertainty and probability maps come from the members that ran (the probability map is clamped
 * into the exact bounds).
 */
export type AdaptiveMode = 'off' | 'exact';

/**
 * Member calls when the caller sets no batch size (the browser engine's WASM path, the CLI) take at most four
 * windows and at most four 256 px windows' pixels: one window of up to 512 px, or one larger window. On WASM and CPU
 * a member's time is its arithmetic per pixel whatever the batch (batches of 1, 2 and 4 windows of 256 px, and one
 * of 704 px, cost the same per pixel, measured), so the pixel budget only bounds a call's memory (its activations
 * and the ensemble's per-member output buffers grow with the pixels batched), and the window cap bounds how much
 * work a cancel may wait for and how coarse progress is when windows are small.
 */
export const DEFAULT_BATCH_PIXELS = 4 * 256 * 256;
export const DEFAULT_BATCH_WINDOWS = 4;

/** Windows per member call for windows of this size when the caller sets none: at least one. */
export function defaultTileBatch(tileWidth: number, tileHeight: number): number {
  return Math.max(
    1,
    Math.min(DEFAULT_BATCH_WINDOWS, Math.floor(DEFAULT_BATCH_PIXELS / (tileWidth * tileHeight))),
  );
}

export interface EnsembleInferenceOptions {
  tiling: TilingSpec;
  /** The network's size multiple, 2^depth. */
  multiple: number;
  threshold: number;
  /** Member weights in runner order; equal when absent. */
  weights?: readonly number[];
  tta?: boolean;
  /** Tiles per member call (default: defaultTileBatch of the planned windows). */
  batchSize?: number;
  adaptive?: AdaptiveMode;
  /** The rule whose mask the adaptive mode must keep exact (default 'mean'). */
  rule?: AggregationRule;
  /** An AbortSignal (only `aborted` is read, so shared/ needs no DOM types); checked before every member call. */
  signal?: { readonly aborted: boolean };
  onProgress?: (progress: InferenceProgress) => void;
}

export interface InferenceProgress {
  /** Member-tile evaluations done and planned (tiles x members x TTA variants); skipped work counts as done. */
  done: number;
  total: number;
}

export interface EnsembleInference {
  plan: TilePlan;
  statistics: MemberStatistics;
  /** Weighted mean of the members' contour probability, when they have a contour output (runner.channels 2). */
  contour: Float32Array | null;
  /** Lower and upper bounds of the rule's statistic (equal everywhere unless adaptive skipped members). */
  bounds: { lo: Float32Array; hi: Float32Array } | null;
  /** Member-tile evaluations run (each TTA variant counts once), including second-pass re-runs. */
  evaluations: number;
  /** Member-tile evaluations a full run would have made. */
  fullEvaluations: number;
  /** Windows the adaptive mode had to re-run in full because blending left pixels undecided. */
  refinedWindows: number;
  /** Milliseconds spent inside the members' forward passes (the rest of the call is tiling and blending). */
  memberMs: number;
}

export class InferenceAbortedError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('segmentation was cancelled');
  }
}

/** Blended channels: the four statistics, then (adaptive mode) the rule's lower and upper bounds, then the contour. */
const STATISTICS = 4; // mean, meanSquare, vote, max
const LO = 4;
const HI = 5;

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
  const tilePixels = tw * th;
  const batchSize = Math.max(1, options.batchSize ?? defaultTileBatch(tw, th));
  const flips: readonly Flip[] = options.tta ? TTA_FLIPS : ['none'];
  const memberCount = runner.members.length;
  const weights = normalizeWeights(memberCount, options.weights);
  const rule = options.rule ?? 'mean';
  const cut = ruleCut(rule, options.threshold);
  const adaptive = (options.adaptive ?? 'off') === 'exact' && memberCount > 1;
  const channels = runner.channels;
  // With a contour output every foreground pixel's contour shapes the instances, so the adaptive mode may only
  // settle windows (and blended pixels) that are certainly background.
  const contour = channels === 2;
  // Bounds are blended only where members may be skipped; with every member run they equal the statistic.
  const contourChannel = adaptive ? HI + 1 : STATISTICS;
  // The bounds mirror the rule's statistic until a window skips members (on a dense image, never).
  const ruleChannel = STATISTIC_CHANNELS.indexOf(rule === 'union' ? 'max' : rule);
  const acc = new BlendAccumulator(
    plan,
    contourChannel + (contour ? 1 : 0),
    options.tiling.blend,
    adaptive
      ? [
          [LO, ruleChannel],
          [HI, ruleChannel],
        ]
      : [],
  );
  const fullEvaluations = plan.windows.length * memberCount * flips.length;
  let evaluations = 0;
  let progressDone = 0;
  let memberMs = 0;
  const batch = new Float32Array(batchSize * tilePixels);
  const memberOut = Array.from({ length: memberCount }, () => new Float32Array(batchSize * tilePixels));
  const memberContour = contour
    ? Array.from({ length: memberCount }, () => new Float32Array(batchSize * tilePixels))
    : null;
  // Where the adaptive mode drops some of a batch's tiles, the rest are packed here for the member call.
  const packed = new Float32Array(batchSize * tilePixels);
  const packedOut = new Float32Array(batchSize * tilePixels);
  const packedContour = contour ? new Float32Array(batchSize * tilePixels) : null;

  /**
   * Member m's flip-averaged foreground for `count` tiles packed in `input`, written into `out`, and its contour
   * into `outContour` when the members have one.
   */
  const runMember = async (
    m: number,
    input: Float32Array,
    count: number,
    out: Float32Array,
    outContour: Float32Array | null,
  ): Promise<void> => {
    const n = count * tilePixels;
    const single = flips.length === 1 && flips[0] === 'none';
    if (!single) {
      out.fill(0);
      outContour?.fill(0);
    }
    const split = channels > 1 ? [new Float32Array(n), new Float32Array(n)] : null;
    for (const flip of flips) {
      if (options.signal?.aborted) throw new InferenceAbortedError();
      const flipped = flipBatch(input, count, th, tw, flip);
      const started = nowMs();
      const pred = await runner.predict(m, flipped, count, th, tw);
      memberMs += nowMs() - started;
      if (pred.length !== n * channels) {
        throw new QuorumInputError(
          'mismatch',
          `member ${runner.members[m]!.id}`,
          `returned ${pred.length} values for ${count} tiles of ${tw}x${th}` +
            (channels > 1 ? ` with ${channels} channels` : ''),
        );
      }
      if (split) {
        const [fg, ct] = split as [Float32Array, Float32Array];
        for (let i = 0; i < n; i++) {
          fg[i] = pred[2 * i]!;
          ct[i] = pred[2 * i + 1]!;
        }
      }
      evaluations += count;
      if (single) {
        // No augmentation: the member's output as it is (the common case, one copy instead of two passes).
        out.set(split ? split[0]! : pred);
        if (outContour && split) outContour.set(split[1]!);
        continue;
      }
      const back = flipBatch(split ? split[0]! : pred, count, th, tw, flip);
      for (let i = 0; i < n; i++) out[i]! += back[i]! / flips.length;
      if (outContour && split) {
        const ctBack = flipBatch(split[1]!, count, th, tw, flip);
        for (let i = 0; i < n; i++) outContour[i]! += ctBack[i]! / flips.length;
      }
    }
  };

  /** Channels of one tile from its first `ran` members (tile slices of memberOut at slot i). */
  const tileChannels = (slot: number, ran: number): Float32Array[] => {
    const outs = memberOut.map((o) => o.subarray(slot * tilePixels, (slot + 1) * tilePixels));
    const run = outs.slice(0, ran);
    const stats = memberStatistics(run, options.threshold, Array.from(weights.subarray(0, ran)));
    const tile = statisticsToChannels(stats);
    if (adaptive) {
      if (ran < memberCount) {
        const b = ruleBounds(rule, outs, ran, weights, options.threshold);
        tile.push(b.lo, b.hi);
      } else {
        // Every member ran: the rule's statistic is exact, so it is both bounds.
        const exact = rule === 'mean' ? stats.mean : rule === 'vote' ? stats.vote : stats.max;
        tile.push(exact, exact);
      }
    }
    if (memberContour) {
      const mean = new Float32Array(tilePixels);
      let total = 0;
      for (let m = 0; m < ran; m++) total += weights[m]!;
      for (let m = 0; m < ran; m++) {
        const c = memberContour[m]!.subarray(slot * tilePixels, (slot + 1) * tilePixels);
        const w = weights[m]! / total;
        for (let p = 0; p < tilePixels; p++) mean[p]! += w * c[p]!;
      }
      tile.push(mean);
    }
    return tile;
  };

  const ranByWindow = new Int32Array(plan.windows.length).fill(memberCount);
  for (let start = 0; start < plan.windows.length; start += batchSize) {
    const windows = plan.windows.slice(start, start + batchSize);
    windows.forEach((win, i) => {
      extractWindow(image, plan, win, batch.subarray(i * tilePixels, (i + 1) * tilePixels));
    });
    // Tiles still needing members, as batch slots; each pass packs them so a skipped tile costs nothing.
    let active = windows.map((_, i) => i);
    const ran = new Int32Array(windows.length);
    const running = adaptive
      ? windows.map(() => new RunningBounds(rule, weights, options.threshold, tilePixels))
      : null;
    for (let m = 0; m < memberCount && active.length; m++) {
      const n = active.length * tilePixels;
      // Every tile still active (always so without the adaptive mode): run on the batch and write in place.
      const whole = active.length === windows.length;
      if (!whole) {
        active.forEach((slot, j) => {
          packed.set(batch.subarray(slot * tilePixels, (slot + 1) * tilePixels), j * tilePixels);
        });
      }
      const out = whole ? memberOut[m]!.subarray(0, n) : packedOut.subarray(0, n);
      const outContour = contour
        ? whole
          ? memberContour![m]!.subarray(0, n)
          : packedContour!.subarray(0, n)
        : null;
      await runMember(
        m,
        whole ? batch.subarray(0, n) : packed.subarray(0, n),
        active.length,
        out,
        outContour,
      );
      active.forEach((slot, j) => {
        if (!whole) {
          memberOut[m]!.set(out.subarray(j * tilePixels, (j + 1) * tilePixels), slot * tilePixels);
          if (outContour)
            memberContour![m]!.set(
              outContour.subarray(j * tilePixels, (j + 1) * tilePixels),
              slot * tilePixels,
            );
        }
        ran[slot] = m + 1;
        if (running) running[slot]!.add(out.subarray(j * tilePixels, (j + 1) * tilePixels));
      });
      progressDone += active.length * flips.length;
      if (adaptive && m + 1 < memberCount) {
        active = active.filter((slot) => {
          const win = windows[slot]!;
          const stop = running![slot]!.decided(
            cut,
            tw,
            Math.min(tw, width - win.x),
            Math.min(th, height - win.y),
            contour,
          );
          if (stop) progressDone += (memberCount - m - 1) * flips.length; // skipped work counts as done
          return !stop;
        });
      }
      options.onProgress?.({ done: progressDone, total: fullEvaluations });
    }
    windows.forEach((win, i) => {
      ranByWindow[start + i] = ran[i]!;
      acc.add(win, tileChannels(i, ran[i]!));
    });
  }

  const refinedWindows = adaptive ? await refineUndecided() : 0;
  const blended = acc.finish();
  const statistics = channelsToStatistics(blended.slice(0, STATISTICS));
  const [lo, hi] = [blended[LO]!, blended[HI]!];
  if (adaptive) {
    // Keep the reported map consistent with the exact mask: clamp it into the exact bounds (nothing to do where
    // the bounds mirrored the statistic to the end: no window skipped a member).
    const stat = blended[ruleChannel]!;
    if (lo !== stat || hi !== stat)
      for (let p = 0; p < stat.length; p++) stat[p] = Math.min(hi[p]!, Math.max(lo[p]!, stat[p]!));
  }
  return {
    plan,
    statistics,
    contour: contour ? blended[contourChannel]! : null,
    bounds: adaptive ? { lo, hi } : null,
    evaluations,
    fullEvaluations,
    refinedWindows,
    memberMs,
  };

  /** Second pass: re-run in full every skipped window that covers a pixel whose blended bounds straddle the cut. */
  async function refineUndecided(): Promise<number> {
    const undecided = contour
      ? (p: number) => !(acc.peek(HI, p) <= cut)
      : (p: number) => !(acc.peek(LO, p) > cut || acc.peek(HI, p) <= cut);
    // Scan each skipped window's own area: O(image size), whatever the number of windows.
    const pending = plan.windows
      .map((_, w) => w)
      .filter((w) => {
        if (ranByWindow[w]! >= memberCount) return false;
        const win = plan.windows[w]!;
        for (let y = win.y; y < Math.min(height, win.y + th); y++) {
          for (let x = win.x; x < Math.min(width, win.x + tw); x++) if (undecided(y * width + x)) return true;
        }
        return false;
      });
    for (let start = 0; start < pending.length; start += batchSize) {
      const ids = pending.slice(start, start + batchSize);
      const count = ids.length;
      ids.forEach((w, i) => {
        extractWindow(image, plan, plan.windows[w]!, batch.subarray(i * tilePixels, (i + 1) * tilePixels));
      });
      const input = batch.subarray(0, count * tilePixels);
      for (let m = 0; m < memberCount; m++)
        await runMember(
          m,
          input,
          count,
          memberOut[m]!.subarray(0, count * tilePixels),
          memberContour ? memberContour[m]!.subarray(0, count * tilePixels) : null,
        );
      ids.forEach((w, i) => {
        const partial = tileChannels(i, ranByWindow[w]!);
        const full = tileChannels(i, memberCount);
        acc.adjust(
          plan.windows[w]!,
          full.map((f, c) => f.map((v, k) => v - partial[c]![k]!)),
        );
        ranByWindow[w] = memberCount;
      });
    }
    return pending.length;
  }
}
