import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { winogradConv3x3, winogradSkipUpOk } from './conv3x3';
import { winogradFor } from './module';

/**
 * The U-Net decoder's "upsample, concatenate with the skip, convolve" in one kernel: a 3x3 'same' convolution
 * (bias, linear or ReLU) of [skip, depthToSpace(up, 2)], where `up` is the 2x2 stride-2 transposed convolution's
 * result before its rearrangement. The Winograd module builds the concatenation while zero-padding its own copy
 * of the input, so neither the rearranged tensor nor the concatenation is ever written (two full-resolution
 * passes per decoder level). Inference only: it has no gradient.
 */
export const SKIP_UP_CONV3X3 = 'QuorumSkipUpConv3x3';

interface SkipUpAttrs {
  relu: boolean;
}

export const skipUpConv3x3Config: tf.KernelConfig = {
  kernelName: SKIP_UP_CONV3X3,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, up, filter, bias } = inputs as Record<string, tf.TensorInfo | undefined>;
    const y = winogradConv3x3(
      backend as BackendWasm,
      x!,
      filter!,
      bias,
      (attrs as unknown as SkipUpAttrs).relu,
      up!,
    );
    if (y === null) throw new Error(`${SKIP_UP_CONV3X3}: the Winograd module cannot run here`);
    return y;
  },
};

/**
 * The fused decoder step where it can run (the WASM backend with this kernel registered, one XNNPACK thread, whole
 * channel blocks of 4 in the skip and the upsampling), else null: the caller then rearranges, concatenates and
 * convolves with ordinary ops.
 */
export function skipUpConv3x3(
  skip: tf.Tensor4D,
  up: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D | undefined,
  relu: boolean,
): tf.Tensor4D | null {
  if (tf.getBackend() !== 'wasm' || tf.getKernel(SKIP_UP_CONV3X3, 'wasm') === undefined) return null;
  if (filter.dtype !== 'float32' || skip.dtype !== 'float32' || up.dtype !== 'float32') return null;
  if (bias && (bias.dtype !== 'float32' || bias.size !== filter.shape[3])) return null;
  if (!winogradSkipUpOk(skip.shape, up.shape, filter.shape)) return null;
  if (winogradFor(tf.backend() as BackendWasm, 'forward') === null) return null;
  const inputs: tf.NamedTensorMap = { x: skip, up, filter, ...(bias ? { bias } : {}) };
  return tf
    .engine()
    .runKernel(SKIP_UP_CONV3X3, inputs, { relu } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
