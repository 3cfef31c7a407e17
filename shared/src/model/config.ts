import { QuorumInputError } from '../errors';

/**
 * The U-Net's shape. The paper's network is { depth: 4, baseFilters: 32, batchNorm: true, upsampling: 'transpose' }
 * (32..512 filters); Quorum's default is far smaller so an ensemble trains on a 2-core CPU and runs in a browser.
 */
export interface UNetConfig {
  /** Number of 2x2 max-pool steps; tiles must be multiples of 2^depth. */
  depth: number;
  /** Filters of the first level; doubled at each level down. */
  baseFilters: number;
  batchNorm: boolean;
  /**
   * 'transpose': 2x2 stride-2 transposed convolution (the paper's).
   * 'nearest': nearest-neighbour 2x upsampling followed by a 2x2 'same' convolution (same receptive field and
   * parameter count, but runs on fast forward-conv kernels in TF.js's WASM backend).
   */
  upsampling: 'transpose' | 'nearest';
  inputChannels: 1;
  /**
   * A second sigmoid output beside the foreground: the probability that a pixel is on an object's contour (a
   * foreground pixel whose 3x3 neighbourhood holds another object or background). Touching nuclei then part along
   * learnt contours ('contour-watershed' split) instead of only where their merged mask has a neck. Absent: false.
   */
  contour?: boolean;
}

/** The network's output channels: the foreground probability, then the contour probability when it has one. */
export function outputChannels(c: Pick<UNetConfig, 'contour'>): 1 | 2 {
  return c.contour ? 2 : 1;
}

export const PAPER_UNET: UNetConfig = {
  depth: 4,
  baseFilters: 32,
  batchNorm: true,
  upsampling: 'transpose',
  inputChannels: 1,
};

/**
 * Depth 3, 8 base filters (8..64, 121k parameters), no BatchNorm. Measured (Node, TF.js WASM, 1 thread, 2-core
 * machine under load): a train step on 4 patches of 128x128 costs about 0.56 s of CPU without BatchNorm and 1.05 s
 * with it (BatchNorm's backward pass runs as many small reductions), which is what keeps the 12-member default
 * ensemble inside about 2 hours of CPU. The paper's BatchNorm stays available (--batchnorm).
 */
export const DEFAULT_UNET: UNetConfig = {
  depth: 3,
  baseFilters: 8,
  batchNorm: false,
  upsampling: 'transpose',
  inputChannels: 1,
};

export const UPSAMPLING_KINDS = ['transpose', 'nearest'] as const;

export function validateUNetConfig(c: UNetConfig, subject = 'architecture'): UNetConfig {
  const bad = (field: string, detail: string): never => {
    throw new QuorumInputError('invalid-value', `${subject}.${field}`, detail);
  };
  if (!Number.isInteger(c.depth) || c.depth < 1 || c.depth > 6)
    bad('depth', `must be an integer 1..6 (got ${c.depth})`);
  if (!Number.isInteger(c.baseFilters) || c.baseFilters < 1 || c.baseFilters > 128) {
    bad('baseFilters', `must be an integer 1..128 (got ${c.baseFilters})`);
  }
  if (!UPSAMPLING_KINDS.includes(c.upsampling))
    bad('upsampling', `must be one of ${UPSAMPLING_KINDS.join(', ')}`);
  if (c.inputChannels !== 1) bad('inputChannels', 'only single-channel input is supported');
  if (c.contour !== undefined && typeof c.contour !== 'boolean') bad('contour', 'must be true or false');
  return c;
}

/** Spatial sizes the network accepts: multiples of 2^depth. */
export function sizeMultiple(c: Pick<UNetConfig, 'depth'>): number {
  return 2 ** c.depth;
}
