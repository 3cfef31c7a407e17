import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolAttrs,
  type MaxPoolInputs,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeOutput } from './call';
import { winogradFor } from './winograd/module';

/**
 * `MaxPool` for the U-Net's pools (2x2, stride 2, no padding, even height, channels in whole vectors) in one SIMD
 * pass of the rows module: four loads and three maxima per output vector, where the stock kernel (XNNPACK) took
 * about 4% of a default member's forward. Every other pool goes to the stock kernel.
 */
/** A 4-D input's pooling geometry under MaxPool / MaxPoolGrad attributes (no dilation: these kernels take none). */
export function poolInfo(
  x: TensorInfo,
  attrs: Pick<MaxPoolAttrs, 'filterSize' | 'strides' | 'pad' | 'dimRoundingMode'>,
): backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** The U-Net's pool, which the rows module's SIMD loops take: 2x2, stride 2, no padding or dilation, whole 4-channel vectors. */
export function isUNetPool(info: backend_util.Conv2DInfo): boolean {
  const { padInfo: pad } = info;
  return (
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    pad.top + pad.left + pad.bottom + pad.right === 0 &&
    info.inChannels % 4 === 0
  );
}

export function makeMaxPoolConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: MaxPoolInputs;
    backend: BackendWasm;
    attrs: MaxPoolAttrs;
  }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as TensorInfo;
    const stock = () => original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    if (x.dtype !== 'float32' || x.shape.length !== 4) return stock();
    const info = poolInfo(x, attrs);
    const ok =
      isUNetPool(info) &&
      info.inHeight % 2 === 0 &&
      info.outHeight === info.inHeight / 2 &&
      info.outWidth === Math.floor(info.inWidth / 2);
    const pool = ok ? winogradFor(backend, 'rows')?.max_pool_2x2 : undefined;
    if (pool === undefined) return stock();
    const y = makeOutput(backend, info.outShape, 'float32');
    const at = (t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
    pool(at(x), info.batchSize, info.inHeight, info.inWidth, info.inChannels, at(y));
    return y;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
