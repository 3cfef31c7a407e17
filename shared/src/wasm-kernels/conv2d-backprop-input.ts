import {
  backend_util,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callWasmKernel, release } from './call';

type Conv2DInfo = backend_util.Conv2DInfo;

/**
 * Input gradient of a stride-1 convolution as one XNNPACK `Conv2D`: dy convolved with the filter reversed in
 * both spatial axes and its in/out channels swapped, padded by k-1-pad on each side. Null when a forward pad
 * exceeds k-1 (the identity would need negative padding).
 */
function stride1(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: Conv2DInfo,
): TensorInfo | null {
  const { filterHeight: fh, filterWidth: fw } = info;
  const { top, bottom, left, right } = info.padInfo;
  const pads = [fh - 1 - top, fh - 1 - bottom, fw - 1 - left, fw - 1 - right];
  if (pads.some((p) => p < 0)) return null;
  const reversed = callWasmKernel(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = callWasmKernel(backend, 'Transpose', { x: reversed }, { perm: [0, 1, 3, 2] });
  release(backend, reversed);
  const dx = callWasmKernel(
    backend,
    'Conv2D',
    { x: dy, filter: swapped },
    {
      strides: 1,
      dilations: 1,
      pad: [
        [0, 0],
        [pads[0]!, pads[1]!],
        [pads[2]!, pads[3]!],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  );
  release(backend, swapped);
  return dx;
}

/**
 * Input gradient when the filter tiles the input without overlap (kernel = stride, e.g. the U-Net's 2x2
 * stride-2 transposed convolution): every dy pixel writes its own s x s block, so
 * dx = DepthToSpace(1x1 Conv2D of dy to s*s*Ci channels, block s), cropped by the forward padding.
 * Null for other kernels, or when part of dx lies outside the blocks (then it is zero; the original kernel
 * handles that rare 'valid' case).
 */
function nonOverlapping(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: Conv2DInfo,
): TensorInfo | null {
  const { filterHeight: fh, filterWidth: fw, strideHeight: s, inChannels: ci, outChannels: co } = info;
  if (fh !== s || fw !== s || info.strideWidth !== s || s < 2) return null;
  const { top, left } = info.padInfo;
  const [n, oh, ow] = dy.shape as [number, number, number, number];
  const { inHeight: h, inWidth: w } = info;
  if (top + h > oh * s || left + w > ow * s) return null;

  // Filter [s,s,Ci,Co] -> [1,1,Co,(a,b,ci)]: DepthToSpace puts channel (a*s + b)*Ci + ci at block offset (a,b).
  const perm = callWasmKernel(backend, 'Transpose', { x: filter }, { perm: [3, 0, 1, 2] });
  const pointwise = callWasmKernel(backend, 'Reshape', { x: perm }, { shape: [1, 1, co, s * s * ci] });
  release(backend, perm);
  const blocks = callWasmKernel(
    backend,
    'Conv2D',
    { x: dy, filter: pointwise },
    { strides: 1, dilations: 1, pad: 'valid', dataFormat: 'NHWC' },
  );
  release(backend, pointwise);
  // DepthToSpace as Reshape + Transpose: the WASM DepthToSpace is a strided scalar loop about 15x slower.
  const rows = callWasmKernel(backend, 'Reshape', { x: blocks }, { shape: [n * oh, ow, s, s * ci] });
  release(backend, blocks);
  const interleaved = callWasmKernel(backend, 'Transpose', { x: rows }, { perm: [0, 2, 1, 3] });
  release(backend, rows);
  const full = callWasmKernel(backend, 'Reshape', { x: interleaved }, { shape: [n, oh * s, ow * s, ci] });
  release(backend, interleaved);
  if (top === 0 && left === 0 && h === oh * s && w === ow * s) return full;
  const dx = callWasmKernel(backend, 'Slice', { x: full }, { begin: [0, top, left, 0], size: [n, h, w, ci] });
  release(backend, full);
  return dx;
}

/**
 * Overrides the WASM `Conv2DBackpropInput` (a scalar C++ loop, 5-28x slower than this on the U-Net's shapes:
 * train/bench/kernels.ts) where an XNNPACK formulation exists, and falls back to the original kernel elsewhere.
 */
export function makeConv2DBackpropInputConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: Conv2DBackpropInputInputs;
    backend: BackendWasm;
    attrs: Conv2DBackpropInputAttrs;
  }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const dy = inputs.dy as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
    if (backend_util.convertConv2DDataFormat(dataFormat) === 'channelsLast') {
      const info = backend_util.computeConv2DInfo(
        inputShape,
        filter.shape as [number, number, number, number],
        strides,
        1,
        pad,
        dimRoundingMode,
      );
      const fast =
        info.strideHeight === 1 && info.strideWidth === 1
          ? stride1(backend, dy, filter, info)
          : nonOverlapping(backend, dy, filter, info);
      if (fast !== null) return fast;
    }
    return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
