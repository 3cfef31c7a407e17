import {
  type DataType,
  getKernel,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Runs a kernel registered for the WASM backend directly on its TensorInfos, the way TF.js's own kernels
 * compose each other: no engine bookkeeping, and the caller frees what it gets with `release`.
 */
export function callWasmKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const kernel = getKernel(kernelName, 'wasm');
  if (kernel === undefined) throw new Error(`The WASM backend has no '${kernelName}' kernel`);
  return kernel.kernelFunc({ inputs, attrs, backend }) as TensorInfo;
}

/** Frees intermediates made inside a kernel (each holds one reference to its data). */
export function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/**
 * backend.makeOutput, refusing an allocation that failed: the backend's malloc returns 0 once the 4 GiB of
 * WebAssembly memory are exhausted, and TF.js would hand out a tensor at address 0, which a kernel would then write
 * over the start of the heap with.
 */
export function makeOutput(backend: BackendWasm, shape: number[], dtype: DataType): TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  if (util.sizeFromShape(shape) > 0 && backend.typedArrayFromHeap(out).byteOffset === 0) {
    backend.disposeData(out.dataId);
    throw new Error(
      `WASM heap exhausted: no room for a ${shape.join('x')} ${dtype} tensor (WebAssembly memory is limited to 4 GiB)`,
    );
  }
  return out;
}
