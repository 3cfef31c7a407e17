import { setFlagsFromString } from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { registerFastWasmKernels, restoreWasmKernels } from '../src/wasm-kernels';

// WebAssembly memory reaches 4 GiB, and the paper-size U-Net's training step needs nearly all of it: byte addresses
// above 2 GiB must survive the kernels' JS side (an i32 export returns them negative; a signed shift turns them
// negative). Once the heap held more than 2 GiB, the scratch of every Winograd call landed there and the call threw
// "offset is out of bounds", and a short-row Concat would have read and written at negative indices. A file of
// its own: the heap never shrinks, and this one grows it past 2 GiB before running the kernels.
setFlagsFromString('--experimental-wasm-relaxed-simd');

const GIB = 2 ** 30;

function seeded(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** The outputs' values, and on WASM their byte addresses in the heap. */
async function on(
  backend: 'cpu' | 'wasm',
  f: () => tf.Tensor[],
): Promise<{ values: Float32Array[]; addresses: number[] }> {
  await tf.setBackend(backend);
  const out = f();
  const addresses =
    backend === 'wasm' ? out.map((t) => (tf.backend() as BackendWasm).typedArrayFromHeap(t).byteOffset) : [];
  const values = await Promise.all(out.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose(out);
  return { values, addresses };
}

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
  }
  return err / Math.max(scale, 1e-12);
}

describe('WASM kernels above 2 GiB of heap', () => {
  afterAll(() => restoreWasmKernels());

  it('convolve, pad and concatenate correctly with their tensors and scratch above 2 GiB', async () => {
    await tf.setBackend('wasm');
    registerFastWasmKernels();
    // 2.25 GiB of filler: everything allocated after it lies above 2 GiB.
    const filler = tf.zeros([(2.25 * GIB) / 4], 'float32');
    const heapBytes = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    expect(heapBytes).toBeGreaterThan(2.25 * GIB);
    const x = seeded(2 * 13 * 21 * 3, 1);
    const g = seeded(3 * 3 * 3 * 8, 2);
    const skip = seeded(2 * 6 * 10 * 3, 3);
    const up = seeded(2 * 6 * 10 * 5, 4);
    const run = () => {
      // Odd size and 3 channels: the padded copies and the cropped output (conv3x3.ts) at high addresses; a
      // concatenation of 12- and 20-byte rows: the short-row word copy (heap-copy.ts).
      const conv = tf.fused.conv2d({
        x: tf.tensor4d(x, [2, 13, 21, 3]),
        filter: tf.tensor4d(g, [3, 3, 3, 8]),
        strides: 1,
        pad: 'same',
        activation: 'relu',
      });
      const joined = tf.concat([tf.tensor4d(skip, [2, 6, 10, 3]), tf.tensor4d(up, [2, 6, 10, 5])], 3);
      return [conv, joined];
    };
    const high = await on('wasm', run);
    const cpu = await on('cpu', run);
    filler.dispose();
    for (const address of high.addresses) expect(address).toBeGreaterThan(2 * GIB);
    expect(maxRelativeError(high.values[0]!, cpu.values[0]!)).toBeLessThan(1e-4);
    expect(high.values[1]).toEqual(cpu.values[1]);
  }, 120_000);
});
