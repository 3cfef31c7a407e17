import type { TilePlan, TileWindow } from './plan';

/**
 * Blending weights for overlapping windows. The merged value at a pixel is sum(w_i * p_i) / sum(w_i) over the
 * windows covering it, so where only one window covers a pixel the result is that window's prediction exactly,
 * and where windows overlap the weights favour each window's centre, whose predictions had the most context.
 */
export type BlendKind = 'gaussian' | 'taper';

/** Weights never reach zero, so a pixel covered only by a window's edge still gets a defined value. */
const MIN_WEIGHT = 1e-3;

function axisWeights(length: number, halo: number, kind: BlendKind): Float32Array {
  const w = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    let v: number;
    if (kind === 'gaussian') {
      const sigma = length / 8;
      const d = i - (length - 1) / 2;
      v = Math.exp(-(d * d) / (2 * sigma * sigma));
    } else {
      // Linear ramp across the 2*halo overlap: two neighbours' ramps sum to a constant there.
      const ramp = Math.max(1, 2 * halo);
      v = Math.min(1, (i + 0.5) / ramp, (length - i - 0.5) / ramp);
    }
    w[i] = Math.max(MIN_WEIGHT, v);
  }
  return w;
}

/** The per-pixel weight of one window (the same for every window of a plan). */
export function windowWeights(plan: TilePlan, kind: BlendKind): Float32Array {
  const wx = axisWeights(plan.tileWidth, plan.halo, kind);
  const wy = axisWeights(plan.tileHeight, plan.halo, kind);
  const out = new Float32Array(plan.tileWidth * plan.tileHeight);
  for (let y = 0; y < plan.tileHeight; y++)
    for (let x = 0; x < plan.tileWidth; x++) out[y * plan.tileWidth + x] = wy[y]! * wx[x]!;
  return out;
}

/**
 * Accumulates blended tile outputs into full-image buffers, one per channel (e.g. mean probability, vote fraction).
 * Buffers are allocated once; each tile's output can be dropped as soon as `add` returns, so memory is bounded by
 * the output size, not the number of tiles.
 */
export class BlendAccumulator {
  /** Per channel, its sums, or null while it mirrors another channel (see `mirror`). */
  private readonly sums: (Float32Array | null)[];
  /** Per channel, the channel it mirrors, or -1. */
  private readonly mirrors: Int32Array;
  private readonly weightSum: Float32Array;
  private readonly weights: Float32Array;

  constructor(
    readonly plan: TilePlan,
    readonly channels: number,
    kind: BlendKind,
    /**
     * Channels that start as copies of another (`[channel, source]` pairs): as long as every window adds the same
     * values (the same array) to both, the channel has no sums of its own and blends to the source's result; the
     * first window that adds anything else gives it a copy of the source's sums so far, after which it accumulates
     * as any channel. The result is the same to the bit as accumulating it all along. (The exact adaptive
     * ensemble's bounds: equal to the statistic wherever every member ran, which on a dense image is everywhere.)
     */
    mirror: ReadonlyArray<readonly [number, number]> = [],
  ) {
    const n = plan.width * plan.height;
    this.mirrors = new Int32Array(channels).fill(-1);
    for (const [c, source] of mirror) {
      if (!(c >= 0 && c < channels && source >= 0 && source < channels && c !== source))
        throw new RangeError(`mirror [${c}, ${source}]: channels must be distinct and below ${channels}`);
      this.mirrors[c] = source;
    }
    for (const [, source] of mirror)
      if (this.mirrors[source]! >= 0) throw new RangeError(`mirror source ${source} mirrors another channel`);
    this.sums = Array.from({ length: channels }, (_, c) =>
      this.mirrors[c]! >= 0 ? null : new Float32Array(n),
    );
    this.weightSum = new Float32Array(n);
    this.weights = windowWeights(plan, kind);
  }

  /** Add one window's outputs: `values[c]` is channel c over the window (tileWidth*tileHeight, row-major). */
  add(window: TileWindow, values: readonly Float32Array[]): void {
    this.accumulate(window, values, true);
  }

  /**
   * Add `deltas` to a window already added, without counting its weight again: replaces that window's earlier
   * values v by v + delta (used to refine a window first added from a subset of the ensemble).
   */
  adjust(window: TileWindow, deltas: readonly Float32Array[]): void {
    this.accumulate(window, deltas, false);
  }

  private accumulate(window: TileWindow, values: readonly Float32Array[], countWeight: boolean): void {
    // A mirroring channel given other values than its source's gets its own copy of the sums first.
    for (let c = 0; c < this.channels; c++) {
      const source = this.mirrors[c]!;
      if (source < 0) continue;
      if (values[c] === values[source]) continue;
      this.sums[c] = this.sums[source]!.slice();
      this.mirrors[c] = -1;
    }
    const { width, height, tileWidth: tw, tileHeight: th } = this.plan;
    const h = Math.min(th, height - window.y);
    const w = Math.min(tw, width - window.x);
    const weights = this.weights;
    // One channel at a time: each pass is a plain loop over typed arrays (with finish's likewise, about 0.65x the time of
    // the channels innermost for a 2048x2048 image's 81 windows of 6 channels).
    for (let c = -1; c < this.channels; c++) {
      if (c < 0 && !countWeight) continue;
      if (c >= 0 && this.mirrors[c]! >= 0) continue;
      const sum = c < 0 ? this.weightSum : this.sums[c]!;
      const v = c < 0 ? null : values[c]!;
      for (let ty = 0; ty < h; ty++) {
        const row = (window.y + ty) * width + window.x;
        const t = ty * tw;
        if (v === null) for (let tx = 0; tx < w; tx++) sum[row + tx]! += weights[t + tx]!;
        else for (let tx = 0; tx < w; tx++) sum[row + tx]! += weights[t + tx]! * v[t + tx]!;
      }
    }
  }

  /** The blended value of one channel at one pixel so far (before `finish`). */
  peek(channel: number, index: number): number {
    const source = this.mirrors[channel]!;
    return this.sums[source >= 0 ? source : channel]![index]! / this.weightSum[index]!;
  }

  /** Divide by the summed weights in place and return the channels. Call once, after every window was added. */
  finish(): Float32Array[] {
    const n = this.weightSum.length;
    const inv = new Float64Array(n);
    for (let i = 0; i < n; i++) inv[i] = 1 / this.weightSum[i]!;
    for (const sum of this.sums) if (sum) for (let i = 0; i < n; i++) sum[i]! *= inv[i]!;
    // A channel that mirrored its source to the end is the source's result (the same array).
    return this.sums.map((sum, c) => sum ?? this.sums[this.mirrors[c]!]!);
  }
}
