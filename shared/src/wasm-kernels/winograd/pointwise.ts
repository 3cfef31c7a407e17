import { getKernel, type TensorInfo } from '@tensorflow/tfjs';
import { type BackendWasm, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { makeOutput } from '../call';
import { winogradFor } from './module';

/**
 * 1x1 convolutions (stride 1) through the module's row kernels: a plain matrix product [pixels, ci] x [ci, co] in
 * the same 4 x 8 register block as the Winograd products (pointwise), or for one output channel a dot product per
 * pixel (dot_rows: the U-Net's head), bias and ReLU fused; a sigmoid runs after it as the stock kernel. The
 * decoder's 2x2 stride-2 transposed convolutions run as such products to 4C channels (compileForward), where
 * XNNPACK's WASM kernel reached about 6 GMAC/s on one thread. Takes output channels a multiple of 8 with pixels a
 * multiple of 4, or one output channel with input channels a multiple of 4; else, or with several XNNPACK
 * threads, null (the stock kernel).
 */
export type PointwiseActivation = 'linear' | 'relu' | 'sigmoid';

export function pointwiseOk(x: TensorInfo, filter: TensorInfo): boolean {
  const [fh, fw, ci, co] = filter.shape;
  const pixels = x.shape[0]! * x.shape[1]! * x.shape[2]!;
  if (fh !== 1 || fw !== 1 || ci !== x.shape[3] || pixels === 0 || x.dtype !== 'float32') return false;
  return co === 1 ? ci! % 4 === 0 : co! % 8 === 0 && pixels % 4 === 0;
}

export function pointwiseConv(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  activation: PointwiseActivation,
): TensorInfo | null {
  if (getThreadsCount() > 1) return null;
  const rows = winogradFor(backend, 'rows');
  const sigmoid = activation === 'sigmoid' ? getKernel('Sigmoid', 'wasm') : undefined;
  if (rows === null || (activation === 'sigmoid' && sigmoid === undefined)) return null;
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const co = filter.shape[3]!;
  const out = makeOutput(backend, [n, h, w, co], 'float32');
  const at = (t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
  const relu = activation === 'relu' ? 1 : 0;
  const biasAt = bias ? at(bias) : 0;
  if (co === 1) rows.dot_rows(at(x), n * h * w, ci, at(filter), biasAt, relu, at(out));
  else rows.pointwise(at(x), n * h * w, ci, co, at(filter), biasAt, relu, at(out));
  if (!sigmoid) return out;
  const y = sigmoid.kernelFunc({ inputs: { x: out }, backend, attrs: {} }) as TensorInfo;
  backend.disposeData(out.dataId);
  return y;
}
