/**
 * Milliseconds from a monotonic clock where the runtime has one (browsers, workers, Node: `performance.now()`),
 * else the wall clock. shared/ declares no DOM or Node types, so the global is looked up structurally.
 */
const perf = (globalThis as { performance?: { now(): number } }).performance;

export const nowMs: () => number = perf ? () => perf.now() : () => Date.now();

/** Where a segmentation's time went, in milliseconds (wall clock, one thread). */
export interface SegmentTimings {
  /** Conversion to float and the whole-image percentile normalisation. */
  normalize: number;
  /** Inside the members' forward passes (runner.predict), TTA variants included. */
  members: number;
  /** The rest of tile -> infer -> blend: window extraction, member statistics, bounds, blending. */
  blend: number;
  /** The aggregation rule and the uncertainty maps. */
  aggregate: number;
  /** Threshold, fill holes, split touching objects, object table. */
  postprocess: number;
}
