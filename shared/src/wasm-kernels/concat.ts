import {
  backend_util,
  type ConcatAttrs,
  type ConcatInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeOutput } from './call';
import { copyRows } from './heap-copy';

/**
 * `Concat` for numeric tensors with heap-to-heap row copies (see heap-copy.ts); string tensors go to the
 * original kernel. Viewing each input as [outer, inner] rows, where outer is the product of the dimensions
 * before the axis, output row r is the concatenation of every input's row r.
 */
export function makeConcatConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: ConcatInputs;
    backend: BackendWasm;
    attrs: ConcatAttrs;
  }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const tensors = inputs as unknown as TensorInfo[];
    if (tensors.some((t) => t.dtype === 'string')) {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const axis = util.parseAxisParam(attrs.axis, tensors[0]!.shape)[0]!;
    const shapes = tensors.map((t) => t.shape);
    backend_util.assertParamsConsistent(shapes, axis);
    const outShape = backend_util.computeOutShape(shapes, axis);
    const out = makeOutput(backend, outShape, tensors[0]!.dtype);

    const outer = util.sizeFromShape(outShape.slice(0, axis));
    const bytes = util.bytesPerElement(out.dtype);
    const outRowBytes = util.sizeFromShape(outShape.slice(axis)) * bytes;
    let start = 0;
    for (const t of tensors) {
      const rowBytes = util.sizeFromShape(t.shape.slice(axis)) * bytes;
      copyRows(
        backend,
        { info: t, start: 0, stride: rowBytes },
        { info: out, start, stride: outRowBytes },
        outer,
        rowBytes,
      );
      start += rowBytes;
    }
    return out;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
