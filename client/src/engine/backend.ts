import { registerFastWasmKernels, winogradStatus } from '@quorum/shared/wasm-kernels';
import * as tf from '@tensorflow/tfjs';
import {
  type BackendWasm,
  getThreadsCount,
  setThreadsCount,
  setWasmPaths,
} from '@tensorflow/tfjs-backend-wasm';
// The three WASM builds, emitted as assets next to the worker; TF.js picks one at init from SIMD/threads support.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendInfo, BackendName } from './types';

/**
 * Backend set-up for the engine's worker. Order of preference (order.ts): WebGPU on a real (hardware) adapter, WASM
 * (SIMD; threads when the realm is cross-origin isolated), the plain-JS CPU backend. Software WebGPU adapters
 * (SwiftShader) are skipped on `auto`: correct but 70-200x slower than WASM. Every skipped or failed backend is
 * recorded with its reason in `BackendInfo.fallbacks`.
 */
export { BACKEND_ORDER, candidatesFor, slowerThan } from './order';

/** A backend that cannot be used here, with the reason that ends up in `fallbacks`. */
export class BackendSkip extends Error {}

interface GpuAdapterLike {
  readonly info?: {
    vendor?: string;
    architecture?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  readonly isFallbackAdapter?: boolean;
}

/** Whether a WebGPU adapter exists, and whether it is a software (fallback) one. */
async function probeWebGpu(): Promise<{ software: boolean; detail: string }> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) throw new BackendSkip('WebGPU is not available in this browser');
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    throw new BackendSkip(`requesting a WebGPU adapter failed (${(e as Error).message})`);
  }
  if (!adapter) throw new BackendSkip('no WebGPU adapter');
  const info = adapter.info ?? {};
  // Chrome moved isFallbackAdapter from the adapter to adapter.info; read both.
  const software = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true;
  const name =
    [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { software, detail: `${name}${software ? ' (software fallback adapter)' : ''}` };
}

async function activate(name: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new BackendSkip(`failed to initialise (${(e as Error).message ?? String(e)})`);
  }
  if (!ok) throw new BackendSkip('failed to initialise');
}

let wasmConfigured = false;

/** Sets up one backend (throws BackendSkip when it cannot run) and returns what it runs on. */
async function setUp(
  name: BackendName,
  forced: boolean,
  threads: number | undefined,
): Promise<Omit<BackendInfo, 'fallbacks' | 'crossOriginIsolated'>> {
  switch (name) {
    case 'webgpu': {
      const probe = await probeWebGpu();
      if (probe.software && !forced) {
        throw new BackendSkip(`only a software adapter (${probe.detail}), slower than WASM`);
      }
      // Loaded on demand: most visitors never need the WebGPU kernels' code.
      await import('@tensorflow/tfjs-backend-webgpu');
      await activate('webgpu');
      return { name, threads: 1, detail: `WebGPU: ${probe.detail}` };
    }
    case 'wasm': {
      if (!wasmConfigured) {
        // setWasmPaths/setThreadsCount only count before the first initialisation.
        setWasmPaths({
          'tfjs-backend-wasm.wasm': wasmPlain,
          'tfjs-backend-wasm-simd.wasm': wasmSimd,
          'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
        });
        if (threads !== undefined) setThreadsCount(threads);
        // The stock transposed convolution (the decoder's upsampling) is a scalar loop; Quorum's XNNPACK
        // formulation is the same arithmetic several times faster, and the trainer runs the same kernels.
        registerFastWasmKernels();
        wasmConfigured = true;
      }
      await activate('wasm');
      const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
      const threadsBuild = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
      const actual = getThreadsCount();
      const build = simd ? (threadsBuild ? 'threaded SIMD build' : 'SIMD build') : 'plain build';
      return {
        name,
        threads: actual,
        simd,
        detail: `WASM (${build}, ${actual} thread${actual === 1 ? '' : 's'}, Quorum's kernels, ${winogradStatus(tf.backend() as BackendWasm)})`,
      };
    }
    case 'cpu':
      await activate('cpu');
      return { name, threads: 1, detail: 'plain JavaScript CPU backend (slow: last resort)' };
  }
}

/**
 * Activates the first backend of `candidates` that works. `fallbacks` carries reasons from earlier attempts (a
 * backend that failed at run time) and gains one line per backend skipped here.
 */
export async function selectBackend(
  candidates: readonly BackendName[],
  options: { forced?: BackendName; threads?: number; fallbacks?: string[] } = {},
): Promise<BackendInfo> {
  const fallbacks = [...(options.fallbacks ?? [])];
  for (const name of candidates) {
    try {
      const info = await setUp(name, name === options.forced, options.threads);
      return { ...info, fallbacks, crossOriginIsolated: globalThis.crossOriginIsolated === true };
    } catch (e) {
      if (!(e instanceof BackendSkip)) throw e;
      fallbacks.push(`${name}: ${e.message}`);
    }
  }
  throw new Error(`no TF.js backend could be initialised (${fallbacks.join('; ')})`);
}
