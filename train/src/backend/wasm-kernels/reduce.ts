import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

interface ReductionAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/**
 * Wraps a WASM reduction (`Sum`, `Mean`) so that it first merges runs of adjacent axes that are all reduced or
 * all kept. The stock kernels move the reduced axes innermost with a Transpose, and a rank-4 Transpose
 * [N,H,W,C] -> [C,N,H,W] is about 4x slower than the same data as a rank-2 [NHW,C] -> [C,NHW]; batch norm
 * reduces over [0,1,2] twice in its forward pass and four times in its gradient.
 */
export function makeCollapsedReductionConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: { x: TensorInfo };
    backend: BackendWasm;
    attrs: ReductionAttrs;
  }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const axes = util.parseAxisParam(attrs.axis, x.shape);
    const sizes: number[] = [];
    const reduced: boolean[] = [];
    x.shape.forEach((size, i) => {
      const isReduced = axes.includes(i);
      if (reduced.length > 0 && reduced.at(-1) === isReduced) sizes[sizes.length - 1]! *= size;
      else {
        sizes.push(size);
        reduced.push(isReduced);
      }
    });
    if (sizes.length === x.shape.length) {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const collapsed: TensorInfo = { dataId: x.dataId, shape: sizes, dtype: x.dtype };
    const groupAxes = reduced.flatMap((isReduced, i) => (isReduced ? [i] : []));
    const out = original.kernelFunc({
      inputs: { x: collapsed },
      backend,
      attrs: { axis: groupAxes, keepDims: false } as unknown as NamedAttrMap,
    }) as TensorInfo;
    const [kept] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(kept, axes) : kept;
    return { ...out, shape };
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
