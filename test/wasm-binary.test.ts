import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import {
  assemblePipeline,
  assembleWinograd,
  BINARY_TS,
  binarySource,
  PIPELINE_BINARY_TS,
  pipelineBinarySource,
} from '../scripts/build-wasm-kernels';

/**
 * The Winograd module ships as bytes (shared/src/wasm-kernels/winograd/binary.ts) assembled from its text (wat.ts):
 * the bytes must be what the text assembles to today, and both variants must link against the memory of the
 * WASM build they serve.
 */
// The fused multiply-add builds use relaxed SIMD, behind this flag in Node 20.
setFlagsFromString('--experimental-wasm-relaxed-simd');

describe('the Winograd module binary', () => {
  it('is up to date with wat.ts (else run: npx tsx scripts/build-wasm-kernels.ts)', async () => {
    const bytes = await assembleWinograd();
    expect(readFileSync(BINARY_TS, 'utf8')).toBe(binarySource(bytes));
  });

  it('and the pipeline module with pipeline-wat.ts, small enough to compile synchronously', async () => {
    const bytes = await assemblePipeline();
    expect(readFileSync(PIPELINE_BINARY_TS, 'utf8')).toBe(pipelineBinarySource(bytes));
    expect(bytes.length).toBeLessThanOrEqual(4096);
  });

  it('links against a plain memory and against a shared one (the threaded build), each module', async () => {
    const bytes = await assembleWinograd();
    const plainMemory = new WebAssembly.Memory({ initial: 1 });
    const sharedMemory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    for (const [part, name] of [
      ['forward', 'conv3x3'],
      ['gradient', 'filter_grad'],
      ['forwardFma', 'conv3x3'],
      ['gradientFma', 'filter_grad'],
      ['rows', 'sum_rows'],
    ] as const) {
      const plain = new WebAssembly.Module(new Uint8Array(bytes[part]));
      const shared = new WebAssembly.Module(new Uint8Array(bytes[`${part}Shared`]));
      // Small enough for a browser to compile synchronously on its main thread (4 KB there).
      expect(bytes[part].length).toBeLessThanOrEqual(4096);
      const link = (module: WebAssembly.Module, memory: WebAssembly.Memory) =>
        new WebAssembly.Instance(module, { env: { memory } }).exports[name];
      expect(typeof link(plain, plainMemory)).toBe('function');
      expect(typeof link(shared, sharedMemory)).toBe('function');
      // Each refuses the other kind of memory: the engine must pick by the backend's memory.
      expect(() => link(plain, sharedMemory)).toThrow();
      expect(() => link(shared, plainMemory)).toThrow();
    }
  });
});
