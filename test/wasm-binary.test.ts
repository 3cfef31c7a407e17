import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleWinograd, BINARY_TS, binarySource } from '../scripts/build-wasm-kernels';

/**
 * The Winograd module ships as bytes (shared/src/wasm-kernels/winograd/binary.ts) assembled from its text (wat.ts):
 * the bytes must be what the text assembles to today, and both variants must link against the memory of the
 * WASM build they serve.
 */
describe('the Winograd module binary', () => {
  it('is up to date with wat.ts (else run: npx tsx scripts/build-wasm-kernels.ts)', async () => {
    const bytes = await assembleWinograd();
    expect(readFileSync(BINARY_TS, 'utf8')).toBe(binarySource(bytes));
  });

  it('links against a plain memory and against a shared one (the threaded build)', async () => {
    const bytes = await assembleWinograd();
    const plain = new Uint8Array(bytes.plain);
    const shared = new Uint8Array(bytes.shared);
    const plainMemory = new WebAssembly.Memory({ initial: 1 });
    const sharedMemory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    for (const [bytes, memory] of [
      [plain, plainMemory],
      [shared, sharedMemory],
    ] as const) {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      expect(typeof instance.exports['conv3x3']).toBe('function');
    }
    // Each refuses the other kind of memory: the engine must pick by the backend's memory.
    expect(
      () => new WebAssembly.Instance(new WebAssembly.Module(plain), { env: { memory: sharedMemory } }),
    ).toThrow();
    expect(
      () => new WebAssembly.Instance(new WebAssembly.Module(shared), { env: { memory: plainMemory } }),
    ).toThrow();
  });
});
