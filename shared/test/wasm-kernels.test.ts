import { setFlagsFromString } from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAST_WASM_KERNELS,
  registerFastWasmKernels,
  restoreWasmKernels,
  setWinogradArithmetic,
  setWinogradBlocks,
  winogradStatus,
} from '../src/wasm-kernels';
import { sumRows } from '../src/wasm-kernels/sum';
import { winogradFilter43, winogradFilterGrad } from '../src/wasm-kernels/winograd/conv3x3';
import { winogradFilter } from '../src/wasm-kernels/winograd/filter';

// Node 20 has relaxed SIMD behind this flag (on by default from Node 22): the fused multiply-add build needs it.
setFlagsFromString('--experimental-wasm-relaxed-simd');

// Every kernel registered for WASM is checked against tfjs-backend-cpu on the shapes the U-Net uses
// (3x3 s1 same, 1x1, 2x2 s2 transposed) plus 3x3 s2 same/valid, 2x2 s2 valid and explicit padding for safety,
// with odd and even sizes, batch 1 and 3.
const TOLERANCE = 1e-4;

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [];
for (const batch of [1, 3]) {
  for (const [h, w] of [
    [7, 9],
    [8, 6],
  ] as const) {
    const at = (ci: number, fh: number, co: number, stride: number, pad: Pad): void => {
      CONV_CASES.push({ x: [batch, h, w, ci], filter: [fh, fh, ci, co], stride, pad });
    };
    at(3, 3, 4, 1, 'same');
    at(1, 3, 4, 1, 'same');
    at(4, 1, 1, 1, 'same');
    at(3, 2, 4, 2, 'same');
    at(3, 2, 4, 2, 'valid');
    at(3, 3, 4, 2, 'same');
    at(3, 3, 4, 2, 'valid');
    at(2, 3, 3, 1, 'valid');
    at(3, 3, 2, 2, [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ]);
  }
}
const label = (c: ConvCase): string =>
  `x ${c.x.join('x')}, filter ${c.filter.join('x')}, stride ${c.stride}, pad ${JSON.stringify(c.pad)}`;

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}
function randomValues(shape: readonly number[], seed: number): Float32Array {
  const next = seeded(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, next);
}

/** max |a - b| / max |b|, the relative error against the CPU reference b. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Runs f on a backend and returns its outputs' values, checking that it leaks neither tensors nor data. */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  const out = f();
  const list = Array.isArray(out) ? out : [out];
  const values = await Promise.all(list.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose(list);
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.engine().backend.numDataIds()).toBe(dataIds);
  return values;
}

async function expectWasmMatchesCpu(f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const expected = await on('cpu', f);
  const actual = await on('wasm', f);
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(relativeError(actual[i]!, expected[i]!)).toBeLessThanOrEqual(TOLERANCE);
  }
}

beforeAll(async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  registerFastWasmKernels();
  await tf.setBackend('wasm');
});

describe('registration', () => {
  it('adds Conv2DBackpropFilter and replaces the slow stock kernels, idempotently and reversibly', () => {
    const ours = tf.getKernel('Concat', 'wasm')?.kernelFunc;
    registerFastWasmKernels();
    expect(tf.getKernel('Concat', 'wasm')?.kernelFunc).toBe(ours);
    for (const name of FAST_WASM_KERNELS) expect(tf.getKernel(name, 'wasm')).toBeDefined();

    restoreWasmKernels();
    const stock = tf.getKernel('Concat', 'wasm')?.kernelFunc;
    expect(stock).not.toBe(ours);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();

    registerFastWasmKernels();
    expect(tf.getKernel('Concat', 'wasm')?.kernelFunc).not.toBe(stock);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
});

describe.each(CONV_CASES)('conv gradients, $x x $filter stride $stride pad $pad', (c) => {
  const x = randomValues(c.x, 1);
  const w = randomValues(c.filter, 2);
  const outShape = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, 1, c.pad).outShape;
  const dy = randomValues(outShape, 3);

  it(`Conv2DBackpropFilter kernel (${label(c)})`, async () => {
    await expectWasmMatchesCpu(() =>
      tf.tidy(() =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, outShape) },
            { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter },
          ),
      ),
    );
  });

  it(`Conv2DBackpropInput kernel (${label(c)})`, async () => {
    await expectWasmMatchesCpu(() =>
      tf.tidy(() =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropInput',
            { dy: tf.tensor4d(dy, outShape), filter: tf.tensor4d(w, c.filter) },
            { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
          ),
      ),
    );
  });

  it(`tf.grads of conv2d w.r.t. input and filter (${label(c)})`, async () => {
    await expectWasmMatchesCpu(() =>
      tf.tidy(() =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf
            .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad)
            .mul(tf.tensor4d(dy, outShape))
            .sum(),
        )([tf.tensor4d(x, c.x), tf.tensor4d(w, c.filter)]),
      ),
    );
  });

  // conv2dTranspose's filter gradient is Conv2DBackpropFilter with x and dy swapped (the U-Net's upsampling).
  it(`tf.grads of conv2dTranspose (${label(c)})`, async () => {
    const ci = c.x[3];
    const [fh, fw, , co] = c.filter;
    const filter = randomValues([fh, fw, ci, co], 4);
    await expectWasmMatchesCpu(() =>
      tf.tidy(() =>
        tf.grads((small: tf.Tensor, f: tf.Tensor) =>
          tf
            .conv2dTranspose(small as tf.Tensor4D, f as tf.Tensor4D, c.x, c.stride, c.pad)
            .mul(tf.tensor4d(x, c.x))
            .sum(),
        )([tf.tensor4d(dy, outShape), tf.tensor4d(filter, [fh, fw, ci, co])]),
      ),
    );
  });
});

describe('an exhausted WASM heap', () => {
  // The backend's malloc returns 0 once the 4 GiB of WebAssembly memory are used up; TF.js would then hand out a
  // tensor at address 0. Simulated here by failing the next allocation(s).
  async function failingMalloc<T>(failures: number, f: () => T): Promise<T> {
    await tf.setBackend('wasm');
    const wasm = (tf.backend() as unknown as { wasm: { _malloc: (n: number) => number } }).wasm;
    const malloc = wasm._malloc;
    let left = failures;
    wasm._malloc = (n: number) => (left-- > 0 ? 0 : malloc(n));
    try {
      return f();
    } finally {
      wasm._malloc = malloc;
    }
  }

  it("is refused with a clear error by Quorum's kernels, not written over at address 0", async () => {
    await tf.setBackend('wasm');
    const a = tf.ones([2, 3, 4, 8]);
    const b = tf.ones([2, 3, 4, 8]);
    const filter = tf.ones([3, 3, 8, 8]);
    // The output tensor's allocation fails (Concat), then the convolution's scratch (after its output's).
    await expect(failingMalloc(1, () => tf.concat([a, b], 3))).rejects.toThrow(
      /WASM heap exhausted: no room for a 2x3x4x16 float32 tensor/,
    );
    const conv = () => tf.conv2d(a as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same');
    await expect(failingMalloc(1, conv)).rejects.toThrow(/WASM heap exhausted: no room for a 2x3x4x8/);
    // Still usable afterwards.
    expect(Array.from(await tf.concat([a, b], 3).data()).every((v) => v === 1)).toBe(true);
    tf.dispose([a, b, filter]);
  });
});

describe('copy kernels', () => {
  const shapes: [number, number, number, number][] = [
    [3, 5, 7, 4],
    [1, 4, 6, 1],
  ];
  it.each(shapes)('Concat along each axis, of 3 float32 inputs (%i x %i x %i x %i)', async (...shape) => {
    for (const axis of [0, 1, 2, 3, -1]) {
      await expectWasmMatchesCpu(() =>
        tf.tidy(() =>
          tf.concat(
            [5, 6, 7].map((seed, i) => {
              const s = [...shape];
              s[(axis + 4) % 4] += i;
              return tf.tensor(randomValues(s, seed), s);
            }),
            axis,
          ),
        ),
      );
    }
  });

  it.each(shapes)('SplitV along each axis, by sizes and by count (%i x %i x %i x %i)', async (...shape) => {
    const values = randomValues(shape, 8);
    for (const axis of [0, 1, 2, 3, -1]) {
      const size = shape[(axis + 4) % 4]!;
      await expectWasmMatchesCpu(() =>
        tf.tidy(() => tf.split(tf.tensor(values, shape), [1, size - 1], axis)),
      );
      await expectWasmMatchesCpu(() => tf.tidy(() => tf.split(tf.tensor(values, shape), 1, axis)));
    }
  });

  it.each([
    [
      [1, 1, 1, 4],
      [3, 5, 7, 1],
    ], // batch norm's gradient: a per-channel vector to the input's shape
    [
      [2, 3, 4],
      [2, 1, 3],
    ],
    [
      [3, 2],
      [1, 4],
    ],
    [[5], [3]],
    [
      [2, 1, 3, 1],
      [1, 2, 2, 3],
    ],
    [
      [2, 3],
      [1, 1],
    ],
    [[], []],
  ])('Tile of %j by %j', async (shape, reps) => {
    const values = randomValues(shape, 9);
    await expectWasmMatchesCpu(() => tf.tidy(() => tf.tile(tf.tensor(values, shape), reps)));
  });

  it('Tile keeps int32 and bool exact and handles zero repetitions', async () => {
    await tf.setBackend('wasm');
    const ints = tf.tile(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), [2, 2]);
    expect(await ints.array()).toEqual([
      [1, 2, 1, 2],
      [3, 4, 3, 4],
      [1, 2, 1, 2],
      [3, 4, 3, 4],
    ]);
    const flags = tf.tile(tf.tensor1d([true, false], 'bool'), [3]);
    expect(await flags.array()).toEqual([1, 0, 1, 0, 1, 0]);
    const none = tf.tile(tf.ones([2, 3]), [0, 1]);
    expect(none.shape).toEqual([0, 3]);
    tf.dispose([ints, flags, none]);
  });

  it('keeps int32 and bool exact and handles empty parts', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    const b = tf.tensor2d([5, 6], [2, 1], 'int32');
    const empty = tf.zeros([2, 0], 'int32');
    const joined = tf.concat([a, empty, b], 1);
    expect(joined.dtype).toBe('int32');
    expect(await joined.array()).toEqual([
      [1, 2, 5],
      [3, 4, 6],
    ]);
    const [left, none, right] = tf.split(joined, [1, 0, 2], 1);
    expect(await left!.array()).toEqual([[1], [3]]);
    expect(none!.shape).toEqual([2, 0]);
    expect(await right!.array()).toEqual([
      [2, 5],
      [4, 6],
    ]);
    const flags = tf.concat([tf.tensor1d([true, false], 'bool'), tf.tensor1d([true], 'bool')]);
    expect(flags.dtype).toBe('bool');
    expect(await flags.array()).toEqual([1, 0, 1]);
    tf.dispose([a, b, empty, joined, left!, none!, right!, flags]);
  });
});

describe('row kernels in the SIMD module (whole 16-byte rows, channels a multiple of 8)', () => {
  it.each([
    [4, 16, 16, 8],
    [2, 8, 8, 16],
    [1, 4, 4, 64],
  ])('Sum over N, H, W of %i x %i x %i x %i equals the float64 row-order sums exactly', async (...shape) => {
    const values = randomValues(shape, 12);
    const [wasm] = await on('wasm', () => tf.tidy(() => tf.sum(tf.tensor(values, shape), [0, 1, 2])));
    expect(Array.from(wasm!)).toEqual(Array.from(Float32Array.from(sumRows(values, shape[3]!))));
    await expectWasmMatchesCpu(() => tf.tidy(() => tf.sum(tf.tensor(values, shape), [0, 1, 2])));
  });

  it('Concat and SplitV of 8- and 16-channel activations copy every value exactly', async () => {
    const a = randomValues([2, 6, 8, 8], 13);
    const b = randomValues([2, 6, 8, 16], 14);
    const run = () =>
      tf.tidy(() => {
        const joined = tf.concat([tf.tensor4d(a, [2, 6, 8, 8]), tf.tensor4d(b, [2, 6, 8, 16])], 3);
        return [joined, ...tf.split(joined, [16, 8], 3)];
      });
    const wasm = await on('wasm', run);
    const cpu = await on('cpu', run);
    expect(wasm).toEqual(cpu);
  });
});

describe('reduction and pooling-gradient kernels', () => {
  it.each([
    [
      [4, 6, 5, 8],
      [0, 1, 2],
    ],
    [
      [3, 7, 5],
      [0, 1],
    ],
    [[9, 6], [0]],
    [
      [2, 3, 4, 5],
      [-2, 0, 1],
    ],
    [
      [2, 3, 4, 1],
      [0, 1, 2],
    ],
    [
      [2, 3, 4, 6],
      [1, 2],
    ],
    [
      [2, 3, 4, 6],
      [0, 1, 2, 3],
    ],
  ])('Sum of %j over axes %j, with and without keepDims', async (shape, axes) => {
    const values = randomValues(shape, 10);
    for (const keepDims of [false, true]) {
      await expectWasmMatchesCpu(() => tf.tidy(() => tf.sum(tf.tensor(values, shape), axes, keepDims)));
    }
  });

  it('Sum keeps int32 exact (the stock kernel handles it)', async () => {
    await tf.setBackend('wasm');
    const s = tf.sum(tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], 'int32'), [0, 1]);
    expect(s.dtype).toBe('int32');
    expect(await s.array()).toEqual([16, 20]);
    s.dispose();
  });

  // Integer inputs make ties in most windows: the gradient must go to the same (first, row-major) maximum as on
  // the CPU backend, or the error is of the order of the gradient itself.
  const poolCases: [number[], number, number, 'same' | 'valid'][] = [
    [[2, 8, 6, 3], 2, 2, 'valid'],
    [[2, 7, 9, 3], 2, 2, 'valid'],
    [[2, 7, 9, 3], 2, 2, 'same'],
    [[1, 9, 7, 2], 3, 3, 'same'],
    [[1, 9, 7, 2], 3, 2, 'same'],
    [[3, 4, 4, 5], 1, 1, 'valid'],
    // 2x2 stride 2 without padding on whole 4-channel vectors: the rows module's SIMD path; odd sizes leave a row
    // and a column outside every window.
    [[2, 8, 6, 4], 2, 2, 'valid'],
    [[2, 7, 9, 8], 2, 2, 'valid'],
    [[1, 8, 8, 16], 2, 2, 'same'],
  ];
  it.each(poolCases)(
    'MaxPoolGrad for x %j, pool %i stride %i %s, with ties',
    async (shape, size, stride, pad) => {
      const ties = randomValues(shape, 11).map((v) => Math.round(v * 4));
      const smooth = randomValues(shape, 12);
      const pooled = tf.backend_util.computePool2DInfo(
        shape as [number, number, number, number],
        size,
        stride,
        1,
        pad,
      ).outShape;
      const dy = randomValues(pooled, 13);
      for (const values of [ties, smooth]) {
        await expectWasmMatchesCpu(() =>
          tf.tidy(() =>
            tf.grad((x: tf.Tensor) =>
              tf
                .maxPool(x as tf.Tensor4D, size, stride, pad)
                .mul(tf.tensor(dy, pooled))
                .sum(),
            )(tf.tensor(values, shape)),
          ),
        );
      }
    },
  );

  it.each([...poolCases, [[2, 8, 9, 8], 2, 2, 'valid'] as (typeof poolCases)[number]])(
    'MaxPool for x %j, pool %i stride %i %s equals the CPU backend exactly',
    async (shape, size, stride, pad) => {
      // Integers make ties; + 0 turns -0 into 0, which the two backends order differently against 0.
      const values = randomValues(shape, 14).map((v) => Math.round(v * 4) + 0);
      const f = () =>
        tf.tidy(() =>
          tf.maxPool(tf.tensor4d(values, shape as [number, number, number, number]), size, stride, pad),
        );
      expect(await on('wasm', f)).toEqual(await on('cpu', f));
    },
  );

  it('MaxPoolGrad gives no gradient to a window of NaN or -Infinity, as on the CPU backend', async () => {
    const shape = [1, 2, 4, 1];
    const values = [
      Number.NaN,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      1,
      Number.NaN,
      Number.NaN,
      2,
      Number.NaN,
    ];
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend);
      const g = tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid').sum())(
        tf.tensor(values, shape),
      );
      expect(Array.from(await g.data())).toEqual([0, 0, 0, 0, 0, 0, 1, 0]);
      g.dispose();
    }
  });

  it('MaxPoolGrad on 4-channel vectors (the SIMD path) treats NaN and -Infinity windows as the CPU backend does', async () => {
    // Each channel holds NaN, -Infinity, ties and plain values in other windows.
    const pattern = [
      Number.NaN,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      1,
      2,
      2,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
    ];
    const shape = [1, 4, 4, 4];
    const values = Array.from({ length: 64 }, (_, i) => pattern[(i * 5 + (i >> 2)) % 8]!);
    const run = () =>
      tf.tidy(() =>
        tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid').sum())(
          tf.tensor(values, shape),
        ),
      );
    const [cpu] = await on('cpu', run);
    const [wasm] = await on('wasm', run);
    expect(Array.from(cpu!).some((v) => v !== 0)).toBe(true);
    expect(Array.from(wasm!)).toEqual(Array.from(cpu!));
  });

  it('Cast to the same dtype shares the data; real conversions still convert', async () => {
    await tf.setBackend('wasm');
    const ids = tf.engine().backend.numDataIds();
    const x = tf.tensor1d([1.5, -2.5, 0]);
    const same = tf.cast(x, 'float32');
    expect(tf.engine().backend.numDataIds()).toBe(ids + 1);
    x.dispose();
    expect(Array.from(await same.data())).toEqual([1.5, -2.5, 0]);
    const ints = tf.cast(same, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(Array.from(await ints.data())).toEqual([1, -2, 0]);
    const bools = tf.tensor1d([1, 0, 2], 'bool');
    const flags = tf.cast(bools, 'float32');
    expect(Array.from(await flags.data())).toEqual([1, 0, 1]);
    tf.dispose([same, ints, bools, flags]);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });

  it('Identity shares its input data: a clone outlives its source, and nothing leaks', async () => {
    await tf.setBackend('wasm');
    const ids = tf.engine().backend.numDataIds();
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    expect(tf.engine().backend.numDataIds()).toBe(ids + 1);
    x.dispose();
    expect(await y.array()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    y.dispose();
    expect(tf.engine().backend.numDataIds()).toBe(ids);
    const words = tf.clone(tf.tensor1d(['a', 'b'], 'string'));
    expect(await words.array()).toEqual(['a', 'b']);
    tf.dispose(words);
  });
});

// Both builds of the convolution modules: with fused multiply-adds (relaxed SIMD, which this Node has behind the
// flag set above; Chromium has it by default) and the baseline SIMD one that other runtimes take.
for (const arithmetic of ['fma', 'plain'] as const) {
  describe(`Winograd modules, ${arithmetic} build`, () => {
    beforeAll(() => setWinogradArithmetic(arithmetic));
    afterAll(() => setWinogradArithmetic('auto'));

    it('is the build that runs', async () => {
      await tf.setBackend('wasm');
      expect(winogradStatus(tf.backend() as BackendWasm)).toBe(
        arithmetic === 'fma'
          ? 'Winograd 3x3 convolutions with fused multiply-add'
          : 'Winograd 3x3 convolutions',
      );
    });

    describe('1x1 convolutions through the pointwise kernel', () => {
      // Output channels a multiple of 8 and pixels of 4 (the decoder's transposed convolutions as 1x1 products
      // to 4C channels), or one output channel; with and without bias, ReLU or sigmoid; other shapes go to the
      // stock kernel.
      const pointwise = (shape: number[], seed: number) => () =>
        tf.tidy(() => {
          const [n, h, w, ci, co] = shape as [number, number, number, number, number];
          const x = tf.tensor4d(randomValues([n, h, w, ci], seed), [n, h, w, ci]);
          const filter = tf.tensor4d(randomValues([1, 1, ci, co], seed + 1), [1, 1, ci, co]);
          const bias = tf.tensor1d(randomValues([co], seed + 2));
          return [
            tf.conv2d(x, filter, 1, 'valid'),
            tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation: 'relu' }),
            tf.fused.conv2d({ x, filter, strides: 1, pad: 'valid', bias }),
            tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation: 'sigmoid' }),
          ];
        });

      it.each([
        [2, 4, 6, 16, 32],
        [1, 8, 8, 3, 8],
        [1, 2, 2, 64, 128],
        [3, 4, 4, 8, 16],
        // One output channel (the U-Net's head): a dot product per pixel, any pixel count.
        [2, 4, 6, 8, 1],
        [1, 3, 5, 16, 1],
      ])('matches the CPU backend: %i x %i x %i, %i -> %i channels', async (...shape) => {
        await expectWasmMatchesCpu(pointwise(shape, 50));
      });

      it('really runs (fused: rounding differs from XNNPACK in the last bits), and leaves odd shapes to it bit for bit', async () => {
        const ours = await on('wasm', pointwise([2, 4, 8, 16, 32], 60));
        const oddOurs = await on('wasm', pointwise([1, 3, 3, 8, 8], 61));
        restoreWasmKernels();
        try {
          const stock = await on('wasm', pointwise([2, 4, 8, 16, 32], 60));
          // The baseline build multiplies and adds in XNNPACK's order (equal results); fused, it rounds once.
          if (arithmetic === 'fma') expect(ours[1]).not.toEqual(stock[1]);
          expect(relativeError(ours[1]!, stock[1]!)).toBeLessThanOrEqual(TOLERANCE);
          expect(oddOurs).toEqual(await on('wasm', pointwise([1, 3, 3, 8, 8], 61)));
        } finally {
          registerFastWasmKernels();
        }
      });
    });

    describe('3x3 convolutions through the Winograd module', () => {
      // Shapes it takes (input channels a multiple of 4, output channels of 8, even height, width a multiple of 8),
      // square and not, batch 1 and 3, the U-Net's channel counts; and its building block, the filter transform.
      // Under 'auto', heights in whole 4-row blocks with widths a multiple of 16 take F(4x4, 3x3) (here 3 x 8 x 16,
      // 1 x 8 x 16, 1 x 4 x 48 (three groups of 4 blocks), 1 x 12 x 32, 2 x 4 x 16, 1 x 8 x 16 x 3), the
      // rest F(2x2, 3x3); under 'f2' all take F(2x2, 3x3).
      const ELIGIBLE: [number, number, number, number, number][] = [
        [1, 2, 8, 4, 8],
        [3, 8, 16, 8, 8],
        [1, 6, 24, 16, 8],
        [2, 16, 8, 8, 16],
        [1, 8, 16, 64, 64],
        [1, 4, 40, 128, 64],
        [1, 4, 48, 8, 16],
        [1, 12, 32, 32, 8],
        // Channel counts off the module's blocks, padded with zeros: an image's 1 or 3 channels, 1 or 4 outputs.
        [2, 8, 16, 1, 8],
        [1, 8, 8, 3, 8],
        [1, 8, 8, 8, 4],
        [2, 4, 16, 8, 1],
        [1, 6, 8, 6, 12],
        [1, 8, 16, 3, 8],
        // Sizes off whole blocks, zero-padded up to them and cropped back: width no multiple of 8, odd height,
        // both, with channel padding; a window's lower U-Net levels (232 -> 116 -> 58 -> 29); a single pixel.
        [1, 8, 12, 8, 8],
        [1, 7, 8, 8, 8],
        [2, 5, 20, 3, 1],
        [1, 29, 29, 64, 64],
        [2, 58, 58, 16, 8],
        [1, 1, 1, 4, 8],
        // One input channel, computed directly 4 pixels at a time: a width off whole groups (the last group overlaps
        // the one before it), and one under 4 (the Winograd path, padded).
        [2, 5, 7, 1, 8],
        [1, 3, 2, 1, 16],
      ];
      const label = ([n, h, w, ci, co]: number[]) => `${n}x${h}x${w}, ${ci} -> ${co} channels`;

      /** Every FusedConv2D variant the module runs, and plain Conv2D, as one list of outputs. */
      const variants = (shape: number[], seed: number) => () =>
        tf.tidy(() => {
          const [n, h, w, ci, co] = shape as [number, number, number, number, number];
          const x = tf.tensor4d(randomValues([n, h, w, ci], seed), [n, h, w, ci]);
          const filter = tf.tensor4d(randomValues([3, 3, ci, co], seed + 1), [3, 3, ci, co]);
          const bias = tf.tensor1d(randomValues([co], seed + 2));
          return [
            tf.conv2d(x, filter, 1, 'same'),
            tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation: 'relu' }),
            tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias }),
            tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', activation: 'relu' }),
            tf.fused.conv2d({
              x,
              filter,
              strides: 1,
              pad: [
                [0, 0],
                [1, 1],
                [1, 1],
                [0, 0],
              ],
            }),
          ];
        });

      for (const blocks of ['auto', 'f2'] as const) {
        describe(blocks === 'auto' ? 'F(4x4, 3x3) where it fits' : 'F(2x2, 3x3) only', () => {
          beforeAll(() => setWinogradBlocks(blocks));
          afterAll(() => setWinogradBlocks('auto'));
          it.each(ELIGIBLE)('matches the CPU backend: %i x %i x %i, %i -> %i channels', async (...shape) => {
            await expectWasmMatchesCpu(variants(shape, 10));
          });
        });
      }

      it('takes F(4x4, 3x3) for whole 4x4 blocks in groups of 4, F(2x2, 3x3) for other sizes', async () => {
        const both = async (shape: number[]) => {
          setWinogradBlocks('f2');
          try {
            const f2 = await on('wasm', variants(shape, 35));
            setWinogradBlocks('auto');
            return [f2, await on('wasm', variants(shape, 35))];
          } finally {
            setWinogradBlocks('auto');
          }
        };
        // Rounding tells the two apart: F(4x4)'s transforms round differently from F(2x2)'s.
        const [f2, f4] = await both([1, 8, 16, 8, 8]);
        expect(f4[0]).not.toEqual(f2[0]);
        expect(relativeError(f4[0]!, f2[0]!)).toBeLessThanOrEqual(TOLERANCE);
        // Height 6 (no whole 4-row blocks) and width 24 (no whole group of 4 blocks): F(2x2) under both.
        for (const shape of [
          [1, 6, 16, 8, 8],
          [1, 8, 24, 8, 8],
        ]) {
          const [a, b] = await both(shape);
          expect(b, label(shape)).toEqual(a);
        }
      });

      it.each([
        [1, 8, 16, 8, 8],
        [1, 7, 12, 8, 8],
      ])(
        'really runs (%i x %i x %i): its rounding differs from the stock kernel in the last bits',
        async (...shape) => {
          const ours = await on('wasm', variants(shape, 30));
          restoreWasmKernels();
          try {
            const stock = await on('wasm', variants(shape, 30));
            expect(ours[0]).not.toEqual(stock[0]);
            expect(relativeError(ours[0]!, stock[0]!)).toBeLessThanOrEqual(TOLERANCE);
          } finally {
            registerFastWasmKernels();
          }
        },
      );

      it('takes input gradients of 3x3 stride-1 convolutions too (the filter reversed), as on the CPU', async () => {
        const [n, h, w, ci, co] = [2, 8, 16, 16, 8];
        const x = randomValues([n, h, w, ci], 40);
        const filter = randomValues([3, 3, ci, co], 41);
        const dy = randomValues([n, h, w, co], 42);
        await expectWasmMatchesCpu(() =>
          tf.tidy(() =>
            tf
              .engine()
              .runKernel(
                'Conv2DBackpropInput',
                { dy: tf.tensor4d(dy, [n, h, w, co]), filter: tf.tensor4d(filter, [3, 3, ci, co]) },
                { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [n, h, w, ci] },
              ),
          ),
        );
        // The forward too, from the same data.
        await expectWasmMatchesCpu(() =>
          tf.tidy(() =>
            tf.conv2d(tf.tensor4d(x, [n, h, w, ci]), tf.tensor4d(filter, [3, 3, ci, co]), 1, 'same'),
          ),
        );
      });

      it('follows a filter that changes (training): the transformed-filter cache is per tensor data', async () => {
        await tf.setBackend('wasm');
        const x = tf.tensor4d(randomValues([1, 4, 8, 4], 50), [1, 4, 8, 4]);
        const v = tf.variable(tf.tensor4d(randomValues([3, 3, 4, 8], 51), [3, 3, 4, 8]));
        const before = tf.conv2d(x, v, 1, 'same');
        v.assign(tf.mul(v, 2));
        const after = tf.conv2d(x, v, 1, 'same');
        expect(
          relativeError(
            await after.data(),
            Float32Array.from(await before.data(), (a) => a * 2),
          ),
        ).toBeLessThan(1e-5);
        tf.dispose([x, v, before, after]);
      });

      it("transforms a filter as G g G^T for F(4x4, 3x3) in the module, by the definition (Lavin & Gray's G)", async () => {
        await tf.setBackend('wasm');
        const [ci, co] = [3, 4];
        const g = randomValues([3, 3, ci, co], 61);
        const u = winogradFilter43(tf.backend() as BackendWasm, g, ci, co)!;
        const G = [
          [1 / 4, 0, 0],
          [-1 / 6, -1 / 6, -1 / 6],
          [-1 / 6, 1 / 6, -1 / 6],
          [1 / 24, 1 / 12, 1 / 6],
          [1 / 24, -1 / 12, 1 / 6],
          [0, 0, 1],
        ];
        for (let a = 0; a < ci; a++)
          for (let b = 0; b < co; b++)
            for (let i = 0; i < 6; i++)
              for (let j = 0; j < 6; j++) {
                let s = 0;
                for (let r = 0; r < 3; r++)
                  for (let c = 0; c < 3; c++)
                    s += G[i]![r]! * g[(r * 3 + c) * ci * co + a * co + b]! * G[j]![c]!;
                expect(u[(i * 6 + j) * ci * co + a * co + b]).toBeCloseTo(s, 6);
              }
      });

      it('transforms a filter as G g G^T, by the definition', () => {
        const [ci, co] = [2, 3];
        const g = randomValues([3, 3, ci, co], 60);
        const u = winogradFilter(g, ci, co);
        const G = [
          [1, 0, 0],
          [0.5, 0.5, 0.5],
          [0.5, -0.5, 0.5],
          [0, 0, 1],
        ];
        for (let a = 0; a < ci; a++)
          for (let b = 0; b < co; b++)
            for (let i = 0; i < 4; i++)
              for (let j = 0; j < 4; j++) {
                let s = 0;
                for (let r = 0; r < 3; r++)
                  for (let c = 0; c < 3; c++)
                    s += G[i]![r]! * g[(r * 3 + c) * ci * co + a * co + b]! * G[j]![c]!;
                expect(u[(i * 4 + j) * ci * co + a * co + b]).toBeCloseTo(s, 6);
              }
      });
    });

    describe('3x3 filter gradients through the Winograd module', () => {
      it.each([
        [1, 2, 8, 4, 8],
        [3, 8, 16, 8, 8],
        [2, 6, 72, 16, 8],
        [1, 8, 16, 64, 64],
        [1, 4, 8, 128, 64],
        [4, 8, 16, 1, 8],
        [2, 8, 8, 8, 1],
        [1, 4, 8, 3, 5],
      ])(
        'Conv2DBackpropFilter matches the CPU backend: %i x %i x %i, %i -> %i channels',
        async (n, h, w, ci, co) => {
          const x = randomValues([n, h, w, ci], 70);
          const dy = randomValues([n, h, w, co], 71);
          for (const pad of ['same', 1] as const) {
            await expectWasmMatchesCpu(() =>
              tf.tidy(() =>
                tf
                  .engine()
                  .runKernel(
                    'Conv2DBackpropFilter',
                    { x: tf.tensor4d(x, [n, h, w, ci]), dy: tf.tensor4d(dy, [n, h, w, co]) },
                    { strides: 1, pad, dataFormat: 'NHWC', filterShape: [3, 3, ci, co] },
                  ),
              ),
            );
          }
        },
      );

      it('really runs here (the module instantiates against this backend)', async () => {
        await tf.setBackend('wasm');
        const x = tf.randomNormal([1, 4, 8, 8]);
        const dy = tf.randomNormal([1, 4, 8, 8]);
        const backend = tf.backend() as BackendWasm;
        const dW = winogradFilterGrad(backend, x, dy);
        expect(dW?.shape).toEqual([3, 3, 8, 8]);
        if (dW) backend.disposeData(dW.dataId);
        tf.dispose([x, dy]);
      });

      it('gives tf.grads of a fused conv (bias, ReLU) w.r.t. input, filter and bias as on the CPU', async () => {
        const [n, h, w, ci, co] = [2, 8, 16, 8, 16];
        const x = randomValues([n, h, w, ci], 80);
        const filter = randomValues([3, 3, ci, co], 81);
        const bias = randomValues([co], 82);
        await expectWasmMatchesCpu(() =>
          tf.tidy(() =>
            tf.grads((a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) =>
              tf.fused
                .conv2d({
                  x: a as tf.Tensor4D,
                  filter: f as tf.Tensor4D,
                  strides: 1,
                  pad: 'same',
                  bias: b,
                  activation: 'relu',
                })
                .square()
                .sum(),
            )([tf.tensor4d(x, [n, h, w, ci]), tf.tensor4d(filter, [3, 3, ci, co]), tf.tensor1d(bias)]),
          ),
        );
      });
    });

    describe('filter gradients of non-overlapping windows (kernel = stride) in one pass', () => {
      it.each([
        [[2, 16, 24, 8], 2, 16, 'same'],
        [[1, 9, 8, 8], 2, 8, 'valid'],
        [[1, 8, 8, 4], 1, 8, 'valid'],
        [[3, 9, 12, 16], 3, 32, 'same'],
        [[2, 8, 8, 8], 1, 1, 'same'],
        [[1, 8, 8, 3], 2, 5, 'valid'],
      ] as const)(
        'Conv2DBackpropFilter matches the CPU backend: x %j, kernel and stride %i, %i outputs, %s',
        async (xShape, s, co, pad) => {
          const [n, h, w, ci] = xShape;
          const oh = pad === 'valid' ? Math.floor((h - s) / s) + 1 : Math.ceil(h / s);
          const ow = pad === 'valid' ? Math.floor((w - s) / s) + 1 : Math.ceil(w / s);
          const x = randomValues(xShape, 90);
          const dy = randomValues([n, oh, ow, co], 91);
          await expectWasmMatchesCpu(() =>
            tf.tidy(() =>
              tf
                .engine()
                .runKernel(
                  'Conv2DBackpropFilter',
                  { x: tf.tensor4d(x, [...xShape]), dy: tf.tensor4d(dy, [n, oh, ow, co]) },
                  { strides: s, pad, dataFormat: 'NHWC', filterShape: [s, s, ci, co] },
                ),
            ),
          );
        },
      );

      it('gives the U-Net transposed convolution filter gradient (2x2, stride 2) as on the CPU', async () => {
        const x = randomValues([2, 8, 16, 16], 92);
        const filter = randomValues([2, 2, 8, 16], 93);
        await expectWasmMatchesCpu(() =>
          tf.tidy(() =>
            tf.grads((a: tf.Tensor, f: tf.Tensor) =>
              tf
                .conv2dTranspose(a as tf.Tensor4D, f as tf.Tensor4D, [2, 16, 32, 8], 2, 'same')
                .square()
                .sum(),
            )([tf.tensor4d(x, [2, 8, 16, 16]), tf.tensor4d(filter, [2, 2, 8, 16])]),
          ),
        );
      });
    });
  });
}
