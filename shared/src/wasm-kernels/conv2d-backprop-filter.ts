import {
  backend_util,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callWasmKernel, release } from './call';
import { patchFilterGrad, winogradFilterGrad } from './winograd/conv3x3';
import { winogradConvOk } from './winograd/kernels';

/**
 * Filter gradient of a 2-D convolution (NHWC), which tfjs-backend-wasm 4.22 lacks. A 3x3 stride-1 'same'
 * convolution goes to the Winograd module (winograd/); any other one:
 *
 * dW[kh,kw,ci,co] = sum over n,oh,ow of xpad[n, oh*s+kh, ow*s+kw, ci] * dy[n,oh,ow,co]
 * is itself a convolution that XNNPACK runs fast: input x transposed to [Ci,H,W,N] (batch Ci, channels N),
 * filter dy transposed to [OH,OW,N,Co], stride 1, dilation = the forward stride, the forward padding.
 * Its output [Ci, >=fh, >=fw, Co] is larger than the filter when (H + pads - fh) is not a multiple of the
 * stride (those extra taps read only padding or rows the forward skipped), so it is sliced, then transposed
 * to [fh,fw,Ci,Co].
 */
function conv2DBackpropFilter(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    throw new Error(`Conv2DBackpropFilter on WASM supports only NHWC, got dataFormat '${dataFormat}'`);
  }
  // 3x3 stride-1 'same' (the U-Net's convolutions): Winograd F(3x3, 2x2), about 2.25x fewer multiplications.
  if (
    dy.dtype === 'float32' &&
    winogradConvOk(x, filterShape, { strides, pad, dataFormat: 'NHWC', dilations: 1 })
  ) {
    const dW = winogradFilterGrad(backend, x, dy);
    if (dW !== null) return dW;
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { top, bottom, left, right } = info.padInfo;
  const [fh, fw, ci, co] = filterShape;
  // Windows that tile the input without overlap or padding (the transposed convolutions' gradient): one pass.
  const s = info.strideHeight;
  if (
    fh === s &&
    fw === s &&
    info.strideWidth === s &&
    top + bottom + left + right === 0 &&
    x.dtype === 'float32' &&
    dy.dtype === 'float32'
  ) {
    const dW = patchFilterGrad(backend, x, dy, s);
    if (dW !== null) return dW;
  }

  const xT = callWasmKernel(backend, 'Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyT = callWasmKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const full = callWasmKernel(
    backend,
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: 1,
      dilations: [info.strideHeight, info.strideWidth],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  );
  release(backend, xT, dyT);

  let cropped = full;
  if (full.shape[1] !== fh || full.shape[2] !== fw) {
    cropped = callWasmKernel(backend, 'Slice', { x: full }, { begin: [0, 0, 0, 0], size: [ci, fh, fw, co] });
    release(backend, full);
  }
  const dW = callWasmKernel(backend, 'Transpose', { x: cropped }, { perm: [1, 2, 0, 3] });
  release(backend, cropped);
  return dW;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
