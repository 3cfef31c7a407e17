/**
 * What the inference pipeline needs from a model runtime: run one member on a batch of tiles. The TF.js runner
 * implements it in Node and the browser alike; tests can run the pipeline on plain functions.
 */
export interface MemberInfo {
  id: string;
  mode: string;
}

export interface EnsembleRunner {
  readonly members: readonly MemberInfo[];
  /**
   * Output channels per pixel: 1 (foreground) or 2 (foreground, contour; see UNetConfig.contour). Required, so a
   * runner that wraps another must pass it on.
   */
  readonly channels: 1 | 2;
  /**
   * Probabilities for `count` tiles of h x w ([count, h, w, channels] row-major, values in [0, 1]) from member
   * `index`. The input array may be reused by the caller once the promise resolves.
   */
  predict(index: number, tiles: Float32Array, count: number, h: number, w: number): Promise<Float32Array>;
}
