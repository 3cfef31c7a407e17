import { PIPELINE_WASM_BASE64 } from './pipeline-binary';
import { decodeBase64, type WasmMemory, webAssembly } from './runtime';

/**
 * The pipeline module (pipeline-wat.ts): one instance per thread, made on first use, with its own memory. Callers
 * copy their inputs in, call a kernel, and copy the results out; every caller also has a JS loop giving the same
 * bits, used where the runtime has no WebAssembly SIMD, where the memory cannot grow, or when tests ask for it.
 */
export interface PipelineKernels {
  stats(src: number, m: number, n: number, w: number, out: number, t: number): void;
  blur_rows(p: number, prow: number, w: number, taps: number, k: number, out: number, rows: number): void;
  blur_cols(t: number, w: number, taps: number, k: number, out: number, rows: number): void;
}

interface Instance {
  kernels: PipelineKernels;
  memory: WasmMemory;
}

/** undefined until first use; null where this runtime cannot run the module. */
let instance: Instance | null | undefined;
let enabled = true;

/**
 * Whether the pipeline may use the module ('auto', the default) or must use its JS loops ('js'): for tests and
 * comparisons (both give the same bits).
 */
export function setPipelineKernels(choice: 'auto' | 'js'): void {
  enabled = choice === 'auto';
}

function load(): Instance | null {
  if (instance !== undefined) return instance;
  instance = null;
  try {
    const bytes = decodeBase64(PIPELINE_WASM_BASE64);
    if (webAssembly?.validate(bytes)) {
      const { exports } = new webAssembly.Instance(new webAssembly.Module(bytes), {});
      instance = { kernels: exports as unknown as PipelineKernels, memory: exports['memory'] as WasmMemory };
    }
  } catch {
    instance = null;
  }
  return instance;
}

/**
 * The kernels and the module's memory buffer, grown to at least `bytes`; null where the JS loops must run instead.
 * The buffer is only valid until the next call (growing replaces it).
 */
export function pipelineKernels(bytes: number): { kernels: PipelineKernels; buffer: ArrayBufferLike } | null {
  const k = enabled ? load() : null;
  if (!k) return null;
  const have = k.memory.buffer.byteLength;
  if (bytes > have) {
    try {
      k.memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      return null;
    }
  }
  return { kernels: k.kernels, buffer: k.memory.buffer };
}

/** Rounds a byte offset up to a whole 16-byte vector. */
export const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;
