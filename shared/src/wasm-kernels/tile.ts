import {
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  type TileAttrs,
  type TileInputs,
  util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeOutput } from './call';

/**
 * `Tile` for numeric tensors as memmoves inside the WASM heap. The stock kernel computes a multi-dimensional
 * index per element: tiling a [1,1,1,16] vector to [4,256,256,16], which the gradient of every batch norm
 * does (tfjs-core tiles 1/sqrt(variance) to the input's shape), took over a second, 150x a same-sized Mul.
 *
 * Axes are filled from the innermost out: once every block below axis k is complete, the x.shape[k] blocks
 * along axis k form one contiguous run, which is repeated reps[k] times by doubling copies.
 */
export function makeTileConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: TileInputs; backend: BackendWasm; attrs: TileAttrs }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as TensorInfo;
    if (x.dtype === 'string')
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const inShape = x.shape;
    const outShape = inShape.map((size, i) => size * attrs.reps[i]!);
    const out = makeOutput(backend, outShape, x.dtype);
    if (util.sizeFromShape(outShape) === 0) return out;

    const bytes = util.bytesPerElement(x.dtype);
    const source = backend.typedArrayFromHeap(x);
    const heap = new Uint8Array(source.buffer);
    const base = backend.typedArrayFromHeap(out).byteOffset;
    // block[k]: bytes from one index of axis k to the next in the output.
    const block = [...util.computeStrides(outShape), 1].map((s) => s * bytes);
    const rank = inShape.length;

    // Place each innermost row of x at its untiled position in the output.
    const rowBytes = (inShape[rank - 1] ?? 1) * bytes;
    const rows = util.sizeFromShape(inShape.slice(0, -1));
    const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
    for (let row = 0; row < rows; row++) {
      let at = base;
      for (let k = 0; k < index.length; k++) at += index[k]! * block[k]!;
      const from = source.byteOffset + row * rowBytes;
      heap.copyWithin(at, from, from + rowBytes);
      for (let k = index.length - 1; k >= 0 && ++index[k]! === inShape[k]; k--) index[k] = 0;
    }

    for (let axis = rank - 1; axis >= 0; axis--) {
      const run = inShape[axis]! * block[axis]!;
      const total = outShape[axis]! * block[axis]!;
      if (run === total) continue;
      // Every untiled position of the axes above this one starts a run to repeat.
      const prefixes = util.sizeFromShape(inShape.slice(0, axis));
      const prefix = new Array<number>(axis).fill(0);
      for (let p = 0; p < prefixes; p++) {
        let start = base;
        for (let k = 0; k < axis; k++) start += prefix[k]! * block[k]!;
        for (let filled = run; filled < total; filled *= 2) {
          heap.copyWithin(start + filled, start, start + Math.min(filled, total - filled));
        }
        for (let k = axis - 1; k >= 0 && ++prefix[k]! === inShape[k]; k--) prefix[k] = 0;
      }
    }
    return out;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
