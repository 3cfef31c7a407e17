import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  type BackendRequest,
  BackendUnavailableError,
  selectBackend,
  wasmBinaryDir,
} from '../src/backend/index.js';

// On this machine (and in CI) neither native package is installed: auto must land on WASM.
describe('selectBackend', () => {
  it("picks WASM on 'auto' here, saying why each native backend was skipped", async () => {
    const selection = await selectBackend('auto');
    expect(selection.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(selection.fallbacks).toEqual(['tfjs-node-gpu: not installed', 'tfjs-node: not installed']);
    expect(selection.detail).toMatch(/SIMD on/);
    expect(selection.detail).toMatch(/Conv2DBackpropFilter/);
  });

  it('leaves WASM able to train a conv net (the filter-gradient kernel is registered)', async () => {
    await selectBackend('wasm');
    const grad = tf.tidy(() => {
      const x = tf.ones([1, 5, 5, 2]) as tf.Tensor4D;
      return tf.grad((w) => tf.conv2d(x, w as tf.Tensor4D, 1, 'same').sum())(tf.ones([3, 3, 2, 1]));
    });
    expect(grad.shape).toEqual([3, 3, 2, 1]);
    // dW[kh,kw,ci,0] counts the pixels tap (kh,kw) sees: all 25 for the centre, 16 for a corner.
    expect(Array.from((await grad.data()).slice(0, 10))).toEqual([16, 16, 20, 20, 16, 16, 20, 20, 25, 25]);
    grad.dispose();
  });

  it('switches to the CPU backend on request', async () => {
    const selection = await selectBackend('cpu');
    expect(selection).toMatchObject({ name: 'cpu', fallbacks: [] });
    expect(tf.getBackend()).toBe('cpu');
  });

  it.each([
    ['tfjs-node', /npm install @tensorflow\/tfjs-node@4\.22\.0/],
    ['tfjs-node-gpu', /npm install @tensorflow\/tfjs-node-gpu@4\.22\.0/],
  ] as const)('throws BackendUnavailableError with an install hint for a missing %s', async (name, hint) => {
    const error = await selectBackend(name).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error).toMatchObject({ backend: name, reason: 'not installed' });
    expect((error as Error).message).toContain(`'${name}'`);
    expect((error as Error).message).toMatch(hint);
  });

  it('rejects an unknown backend name, naming it', async () => {
    await expect(selectBackend('tpu' as BackendRequest)).rejects.toThrow(/'tpu'.*auto, tfjs-node-gpu/);
  });
});

describe('WASM binaries', () => {
  it('are located next to the installed package, not the cwd', () => {
    expect(existsSync(path.join(wasmBinaryDir(), 'tfjs-backend-wasm-simd.wasm'))).toBe(true);
  });

  it('load when the process starts in another directory', async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const select = pathToFileURL(path.resolve(import.meta.dirname, '../src/backend/select.ts')).href;
    const script = `const { selectBackend } = await import(${JSON.stringify(select)});
      console.log(JSON.stringify(await selectBackend('wasm')));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', tsx, '--input-type=module', '-e', script],
      { cwd: tmpdir() },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ name: 'wasm' });
  });
});
