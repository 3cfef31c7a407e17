import '@tensorflow/tfjs-backend-wasm';
import { getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs';
import { setSkipUpConv } from '../model/fused-forward';
import { makeCastConfig } from './cast';
import { makeConcatConfig } from './concat';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter';
import { makeConv2DBackpropInputConfig } from './conv2d-backprop-input';
import { makeIdentityConfig } from './identity';
import { makeMaxPoolConfig } from './max-pool';
import { makeMaxPoolGradConfig } from './max-pool-grad';
import { makeSplitVConfig } from './split-v';
import { makeSumConfig } from './sum';
import { makeTileConfig } from './tile';
import { makeWinogradConv2DConfig, makeWinogradFusedConv2DConfig } from './winograd/kernels';
import { skipUpConv3x3, skipUpConv3x3Config } from './winograd/skip-up';

/**
 * Kernels this module adds to the WASM backend: the filter gradient (it has none) and the decoder's fused
 * upsample-concatenate-convolve step (compileForward uses it through setSkipUpConv).
 */
const ADDED: readonly KernelConfig[] = [conv2DBackpropFilterConfig, skipUpConv3x3Config];

/** Stock WASM kernels replaced by faster ones built from the original (which they fall back to). */
const OVERRIDES: ReadonlyArray<[string, (original: KernelConfig) => KernelConfig]> = [
  ['Conv2DBackpropInput', makeConv2DBackpropInputConfig],
  ['Concat', makeConcatConfig],
  ['SplitV', makeSplitVConfig],
  ['Tile', makeTileConfig],
  ['Identity', makeIdentityConfig],
  ['Cast', makeCastConfig],
  ['Sum', makeSumConfig],
  ['MaxPool', makeMaxPoolConfig],
  ['MaxPoolGrad', makeMaxPoolGradConfig],
  ['Conv2D', makeWinogradConv2DConfig],
  ['FusedConv2D', makeWinogradFusedConv2DConfig],
];

/** The stock kernels replaced while ours are registered, by kernel name. */
const originals = new Map<string, KernelConfig>();

/** Names of the kernels that `registerFastWasmKernels` adds or replaces. */
export const FAST_WASM_KERNELS: readonly string[] = [
  ...ADDED.map((config) => config.kernelName),
  ...OVERRIDES.map(([name]) => name),
];

function replace(config: KernelConfig): void {
  // unregister first: registerKernel warns on an existing key.
  if (getKernel(config.kernelName, 'wasm') !== undefined) unregisterKernel(config.kernelName, 'wasm');
  registerKernel(config);
}

/**
 * Makes the WASM backend able to train conv nets, and fast at it: adds `Conv2DBackpropFilter` and replaces
 * `Conv2DBackpropInput`, `Concat`, `SplitV` and `Tile` with XNNPACK- or memmove-based versions, `Identity` with
 * a shared reference (and `Cast` to the same dtype), `Sum` over leading axes and non-overlapping `MaxPoolGrad` with single heap passes, and 3x3
 * stride-1 `Conv2D`/`FusedConv2D` with a Winograd module of our own (winograd/) on one XNNPACK thread. Idempotent;
 * works before or after the backend is initialised (the replacements keep the originals' setup functions).
 */
export function registerFastWasmKernels(): void {
  if (originals.size > 0) return;
  for (const [name, make] of OVERRIDES) {
    const original = getKernel(name, 'wasm');
    if (original === undefined) throw new Error(`tfjs-backend-wasm registers no '${name}' kernel to replace`);
    originals.set(name, original);
    replace(make(original));
  }
  for (const config of ADDED) replace(config);
  setSkipUpConv(skipUpConv3x3);
}

/** Undoes `registerFastWasmKernels`: removes the added kernels and puts the stock ones back. */
export function restoreWasmKernels(): void {
  if (originals.size === 0) return;
  for (const config of ADDED) unregisterKernel(config.kernelName, 'wasm');
  setSkipUpConv(null);
  for (const original of originals.values()) replace(original);
  originals.clear();
}
