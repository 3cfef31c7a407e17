import type { TensorInfo } from '@tensorflow/tfjs';
import { type BackendWasm, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { winogradFor } from './module';

/**
 * 1x1 convolutions (stride 1) through the module's pointwise kernel: a plain matrix product [pixels, ci] x
 * [ci, co] in the same 4 x 8 register block as the Winograd products, bias and ReLU fused. The decoder's 2x2
 * stride-2 transposed convolutions run as such a product to 4C channels (compileForward), where XNNPACK's WASM
 * kernel reached about 6 GMAC/s on one thread. Output channels a multiple of 8, pixels of 4; else, or with several
 * XNNPACK threads, null (the stock kernel).
 */
export function pointwiseOk(x: TensorInfo, filter: TensorInfo): boolean {
  const [fh, fw, ci, co] = filter.shape;
  const pixels = x.shape[0]! * x.shape[1]! * x.shape[2]!;
  return (
    fh === 1 &&
    fw === 1 &&
    ci === x.shape[3] &&
    co! % 8 === 0 &&
    pixels % 4 === 0 &&
    pixels > 0 &&
    x.dtype === 'float32'
  );
}

export function pointwiseConv(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
): TensorInfo | null {
  if (getThreadsCount() > 1) return null;
  const pointwise = winogradFor(backend, 'rows')?.pointwise;
  if (pointwise === undefined) return null;
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const co = filter.shape[3]!;
  const out = backend.makeOutput([n, h, w, co], 'float32');
  const at = (t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
  pointwise(at(x), n * h * w, ci, co, at(filter), bias ? at(bias) : 0, relu ? 1 : 0, at(out));
  return out;
}
