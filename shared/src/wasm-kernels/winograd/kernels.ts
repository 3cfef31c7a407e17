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
import { winogradConv3x3, winogradForwardShapeOk, winogradShapeOk } from './conv3x3';
import { type PointwiseActivation, pointwiseConv, pointwiseOk } from './pointwise';

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

type ConvAttrs = Pick<Conv2DAttrs, 'strides' | 'pad' | 'dataFormat' | 'dilations'>;

/** A float32 NHWC stride-1 'same' convolution of x. */
const sameStrideOne = (x: TensorInfo, attrs: ConvAttrs) =>
  x.dtype === 'float32' &&
  (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
  ones(attrs.strides) &&
  ones(attrs.dilations) &&
  padsOne(attrs.pad);

/**
 * Whether the filter gradient of a float32 convolution of x by a filter of `filterShape` with these attributes
 * is the gradient module's (winogradShapeOk: it takes fewer sizes than the forward modules).
 */
export function winogradConvOk(x: TensorInfo, filterShape: readonly number[], attrs: ConvAttrs): boolean {
  return sameStrideOne(x, attrs) && winogradShapeOk(x.shape, filterShape);
}

/** Whether the forward modules take this convolution (any size: winogradForwardShapeOk). */
const eligible = (x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs) =>
  filter.dtype === 'float32' && sameStrideOne(x, attrs) && winogradForwardShapeOk(x.shape, filter.shape);

/** No padding, however it was written ('same' and 'valid' agree for a 1x1 stride-1 convolution). */
function padsNone(pad: Conv2DAttrs['pad']): boolean {
  if (pad === 'same' || pad === 'valid' || pad === 0) return true;
  return Array.isArray(pad) && (pad as readonly (readonly number[])[]).every((p) => p.every((v) => v === 0));
}

/** A float32 1x1 stride-1 convolution the module's pointwise kernel takes. */
const pointwiseEligible = (x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs) =>
  filter.dtype === 'float32' &&
  (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
  ones(attrs.strides) &&
  ones(attrs.dilations) &&
  padsNone(attrs.pad) &&
  pointwiseOk(x, filter);

/**
 * Ours for this convolution (Winograd 3x3, or the row kernels for 1x1; only they take a sigmoid), or null for
 * the stock kernel.
 */
function ourConv(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DAttrs,
  bias: TensorInfo | undefined,
  activation: PointwiseActivation,
): TensorInfo | null {
  if (activation !== 'sigmoid' && eligible(x, filter, attrs))
    return winogradConv3x3(backend, x, filter, bias, activation === 'relu');
  if (pointwiseEligible(x, filter, attrs)) return pointwiseConv(backend, x, filter, bias, activation);
  return null;
}

export function makeWinogradConv2DConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: Conv2DInputs; backend: BackendWasm; attrs: Conv2DAttrs }) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const y = ourConv(backend, x, filter, attrs, undefined, 'linear');
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
      (activation === 'linear' || activation === 'relu' || activation === 'sigmoid') &&
      inputs.preluActivationWeights == null &&
      (bias === undefined ||
        (bias.dtype === 'float32' && util.sizeFromShape(bias.shape) === filter.shape[3]));
    const y = ok ? ourConv(backend, x, filter, attrs, bias, activation as PointwiseActivation) : null;
    return y ?? (original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo);
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
