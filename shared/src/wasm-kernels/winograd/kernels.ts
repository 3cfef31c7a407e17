import {
  type Conv2DAttrs,
  type Conv2DInputs,
  type FusedConv2DAttrs,
  type FusedConv2DInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { winogradConv3x3, winogradShapeOk } from './conv3x3';

/**
 * `Conv2D` and `FusedConv2D` (bias, ReLU) for 3x3 stride-1 'same' convolutions through the Winograd module; every
 * other convolution, and every one the module cannot take (channels, odd sizes, other activations, several
 * XNNPACK threads), goes to the stock kernel. `Conv2DBackpropInput` of such a convolution is itself one (the
 * filter reversed), so the trainer's input gradients come here too (conv2d-backprop-input.ts); its filter
 * gradient has a module of its own (conv2d-backprop-filter.ts).
 */

type Pair = number | [number, number] | readonly number[];
const ones = (v: Pair | undefined) =>
  v === undefined || (Array.isArray(v) ? v.every((x) => x === 1) : v === 1);

/** 'same' for a 3x3 stride-1 convolution: one pixel of zeros on every side, however it was written. */
function padsOne(pad: Conv2DAttrs['pad']): boolean {
  if (pad === 'same' || pad === 1) return true;
  if (!Array.isArray(pad)) return false;
  const p = pad as readonly (readonly number[])[];
  return (
    p.length === 4 &&
    p[0]!.every((v) => v === 0) &&
    p[1]!.every((v) => v === 1) &&
    p[2]!.every((v) => v === 1) &&
    p[3]!.every((v) => v === 0)
  );
}

/** Whether a float32 convolution of x by a filter of `filterShape` with these attributes is the module's. */
export function winogradConvOk(
  x: TensorInfo,
  filterShape: readonly number[],
  attrs: Pick<Conv2DAttrs, 'strides' | 'pad' | 'dataFormat' | 'dilations'>,
): boolean {
  return (
    x.dtype === 'float32' &&
    (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
    ones(attrs.strides) &&
    ones(attrs.dilations) &&
    padsOne(attrs.pad) &&
    winogradShapeOk(x.shape, filterShape)
  );
}

const eligible = (x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs) =>
  filter.dtype === 'float32' && winogradConvOk(x, filter.shape, attrs);

export function makeWinogradConv2DConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: Conv2DInputs; backend: BackendWasm; attrs: Conv2DAttrs }) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const y = eligible(x, filter, attrs) ? winogradConv3x3(backend, x, filter, undefined, false) : null;
    return y ?? (original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo);
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}

export function makeWinogradFusedConv2DConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: FusedConv2DInputs; backend: BackendWasm; attrs: FusedConv2DAttrs }) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const bias = inputs.bias as TensorInfo | undefined;
    const activation = attrs.activation ?? 'linear';
    const ok =
      eligible(x, filter, attrs) &&
      (activation === 'linear' || activation === 'relu') &&
      inputs.preluActivationWeights == null &&
      (bias === undefined ||
        (bias.dtype === 'float32' && util.sizeFromShape(bias.shape) === filter.shape[3]));
    const y = ok ? winogradConv3x3(backend, x, filter, bias, activation === 'relu') : null;
    return y ?? (original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo);
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
