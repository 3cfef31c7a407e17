// Faster and missing kernels for tfjs-backend-wasm, used by the trainer (gradients) and the browser (the
// transposed convolution and concatenation of the U-Net's decoder). A subpath of its own, so importing the
// shared core does not pull in the WASM backend.
export { makeConcatConfig } from './concat';
export { conv2DBackpropFilterConfig } from './conv2d-backprop-filter';
export { makeConv2DBackpropInputConfig } from './conv2d-backprop-input';
export { FAST_WASM_KERNELS, registerFastWasmKernels, restoreWasmKernels } from './register';
export { makeSplitVConfig } from './split-v';
export { makeTileConfig } from './tile';
export { setWinogradBlocks, type WinogradBlocks } from './winograd/conv3x3';
export { setWinogradArithmetic, type WinogradArithmetic, winogradStatus } from './winograd/module';
