import type { AggregationRule } from '../manifest/schema';

/**
 * Bounds on the statistic a rule thresholds, given only some members' outputs. Member probabilities lie in
 * [0, 1], so with run members contributing S (weighted) and the rest holding weight R:
 *   mean:  final mean in [S, S + R]          (threshold t)
 *   vote:  final vote fraction in [V, V + R] (threshold 0.5)
 *   union: final max in [max so far, 1]     (threshold t; exactly the max once every member ran)
 * A pixel is decided once the whole interval lies on one side of the threshold: no remaining member can move it.
 */
export interface RuleBounds {
  lo: Float32Array;
  hi: Float32Array;
}

export function ruleCut(rule: AggregationRule, threshold: number): number {
  return rule === 'vote' ? 0.5 : threshold;
}

/**
 * lo/hi per pixel from the first `ran` members' outputs (`outputs[m]`), with `weights` normalised over ALL members.
 */
export function ruleBounds(
  rule: AggregationRule,
  outputs: readonly Float32Array[],
  ran: number,
  weights: Float64Array,
  threshold: number,
  out?: RuleBounds,
): RuleBounds {
  const n = outputs[0]!.length;
  const lo = out?.lo ?? new Float32Array(n);
  const hi = out?.hi ?? new Float32Array(n);
  let remaining = 0;
  for (let m = ran; m < weights.length; m++) remaining += weights[m]!;
  for (let p = 0; p < n; p++) {
    let acc = 0;
    for (let m = 0; m < ran; m++) {
      const v = outputs[m]![p]!;
      if (rule === 'mean') acc += weights[m]! * v;
      else if (rule === 'vote') acc += v > threshold ? weights[m]! : 0;
      else if (v > acc) acc = v;
    }
    lo[p] = acc;
    hi[p] = rule === 'union' ? (ran < weights.length ? 1 : acc) : acc + remaining;
  }
  return { lo, hi };
}

/**
 * The running form of ruleBounds for one tile: members are added one at a time, in member order, each in
 * O(pixels), so deciding after every member costs O(members x pixels) per tile instead of ruleBounds's
 * O(members^2 x pixels) (on a GPU backend the quadratic form cost more than the members themselves). It
 * accumulates in float64 in ruleBounds's order, so its bounds are bit-identical to ruleBounds's.
 */
export class RunningBounds {
  private readonly acc: Float64Array;
  private ran = 0;

  constructor(
    private readonly rule: AggregationRule,
    /** Normalised over ALL members, as for ruleBounds. */
    private readonly weights: Float64Array,
    private readonly threshold: number,
    pixels: number,
  ) {
    this.acc = new Float64Array(pixels);
  }

  /** Adds the output of the next member (member `ran`). */
  add(output: Float32Array): void {
    const { acc, rule, threshold } = this;
    const w = this.weights[this.ran]!;
    const n = acc.length;
    // One loop per rule, so the per-pixel loop carries no rule test.
    if (rule === 'mean') for (let p = 0; p < n; p++) acc[p]! += w * output[p]!;
    else if (rule === 'vote') for (let p = 0; p < n; p++) acc[p]! += output[p]! > threshold ? w : 0;
    else
      for (let p = 0; p < n; p++) {
        const v = output[p]!;
        if (v > acc[p]!) acc[p] = v;
      }
    this.ran++;
  }

  /**
   * True when every pixel of the window that lies inside the image is decided by the members added so far (its
   * bounds on one side of `cut`); with `backgroundOnly`, decided as background (what a contour output needs: the
   * contour of any foreground pixel shapes the instances). Stops at the first open pixel.
   */
  decided(
    cut: number,
    tileWidth: number,
    validWidth: number,
    validHeight: number,
    backgroundOnly = false,
  ): boolean {
    const { acc, weights } = this;
    let remaining = 0;
    for (let m = this.ran; m < weights.length; m++) remaining += weights[m]!;
    const union = this.rule === 'union';
    const complete = this.ran >= weights.length;
    for (let y = 0; y < validHeight; y++) {
      const row = y * tileWidth;
      for (let x = 0; x < validWidth; x++) {
        const a = acc[row + x]!;
        const lo = Math.fround(a);
        const hi = union ? (complete ? lo : 1) : Math.fround(a + remaining);
        if (backgroundOnly ? !(hi <= cut) : !(lo > cut || hi <= cut)) return false;
      }
    }
    return true;
  }
}
