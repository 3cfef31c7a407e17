export {
  BACKEND_REQUESTS,
  type BackendRequest,
  type BackendSelection,
  BackendUnavailableError,
  selectBackend,
} from './select.js';
export { makeConcatConfig } from './wasm-kernels/concat.js';
export { conv2DBackpropFilterConfig } from './wasm-kernels/conv2d-backprop-filter.js';
export { makeConv2DBackpropInputConfig } from './wasm-kernels/conv2d-backprop-input.js';
export {
  registerWasmTrainingKernels,
  restoreWasmKernels,
  WASM_TRAINING_KERNELS,
} from './wasm-kernels/register.js';
export { makeSplitVConfig } from './wasm-kernels/split-v.js';
export { makeTileConfig } from './wasm-kernels/tile.js';
export { wasmBinaryDir } from './wasm-paths.js';
