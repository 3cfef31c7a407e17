import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type SumAttrs,
  type SumInputs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeOutput } from './call';
import { winogradFor } from './winograd/module';

/**
 * `Sum` of a float32 tensor over every axis but the last (a bias or BatchNorm gradient: [N,H,W,C] -> [C]) as
 * one pass over the heap with a float64 accumulator per channel. The stock kernel first transposes the whole
 * tensor to put the summed axes last (about 60 ms of a 1.5 s U-Net training step); every other reduction, and
 * every other dtype, goes to it.
 */
export function makeSumConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: SumInputs; backend: BackendWasm; attrs: SumAttrs }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as TensorInfo;
    const rank = x.shape.length;
    const axes = util.parseAxisParam(attrs.axis, x.shape);
    const leading =
      rank >= 2 && axes.length === rank - 1 && [...axes].sort((a, b) => a - b).every((a, i) => a === i);
    const channels = x.shape[rank - 1] ?? 0;
    if (x.dtype !== 'float32' || !leading || channels < 2) {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const outShape = attrs.keepDims ? backend_util.expandShapeToKeepDim([channels], axes) : [channels];
    const out = makeOutput(backend, outShape, 'float32');
    // Read the heap only after allocating: an allocation may grow (and so replace) it.
    const values = backend.typedArrayFromHeap(x) as Float32Array;
    const simd = channels % 8 === 0 ? winogradFor(backend, 'rows')?.sum_rows : undefined;
    if (simd !== undefined) {
      // The same float64 sums in the same order, four columns pairs to a 128-bit add.
      simd(values.byteOffset, values.length / channels, channels, backend.typedArrayFromHeap(out).byteOffset);
    } else {
      (backend.typedArrayFromHeap(out) as Float32Array).set(sumRows(values, channels));
    }
    return out;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}

/**
 * Column sums of a row-major [rows, channels] array. Four columns per pass, in local float64 accumulators: in
 * V8 about 5x faster than one typed-array accumulator per column updated row by row.
 */
export function sumRows(values: Float32Array, channels: number): Float64Array {
  const sums = new Float64Array(channels);
  const n = values.length;
  let c = 0;
  for (; c + 4 <= channels; c += 4) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = c; i < n; i += channels) {
      s0 += values[i]!;
      s1 += values[i + 1]!;
      s2 += values[i + 2]!;
      s3 += values[i + 3]!;
    }
    sums[c] = s0;
    sums[c + 1] = s1;
    sums[c + 2] = s2;
    sums[c + 3] = s3;
  }
  for (; c < channels; c++) {
    let s = 0;
    for (let i = c; i < n; i += channels) s += values[i]!;
    sums[c] = s;
  }
  return sums;
}
