import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type SplitVAttrs,
  type SplitVInputs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeOutput } from './call';
import { copyRows } from './heap-copy';

/**
 * `SplitV` (the gradient of `Concat`) for numeric tensors with heap-to-heap row copies (see heap-copy.ts);
 * string tensors go to the original kernel. Output i takes, from every [outer, inner] row of x, the bytes of
 * its own part of the axis.
 */
export function makeSplitVConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: SplitVInputs;
    backend: BackendWasm;
    attrs: SplitVAttrs;
  }): TensorInfo[] => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as TensorInfo;
    if (x.dtype === 'string') {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo[];
    }
    const axis = util.parseAxisParam(attrs.axis, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, axis);
    const outs = sizes.map((size) => {
      const shape = x.shape.slice();
      shape[axis] = size;
      return makeOutput(backend, shape, x.dtype);
    });

    const outer = util.sizeFromShape(x.shape.slice(0, axis));
    const bytes = util.bytesPerElement(x.dtype);
    const inRowBytes = util.sizeFromShape(x.shape.slice(axis)) * bytes;
    let start = 0;
    for (const out of outs) {
      const rowBytes = util.sizeFromShape(out.shape.slice(axis)) * bytes;
      copyRows(
        backend,
        { info: x, start, stride: inRowBytes },
        { info: out, start: 0, stride: rowBytes },
        outer,
        rowBytes,
      );
      start += rowBytes;
    }
    return outs;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
