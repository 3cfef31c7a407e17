import { getKernel, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
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
