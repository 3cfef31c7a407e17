// Micro-benchmark of Quorum's WASM training kernels against what they replace, and of a U-Net train step.
// Run: npx tsx train/bench/kernels.ts   (BENCH_RUNS=n to change the number of timed runs; prints JSON)

import {
  conv2DBackpropFilterConfig,
  registerFastWasmKernels,
  restoreWasmKernels,
} from '@quorum/shared/wasm-kernels';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../src/backend/index.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const BATCH = 4;
const SIZE = 256;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Median wall time of f over RUNS runs after one warm-up; WASM kernels are synchronous. */
async function time(f: () => unknown, runs = RUNS): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await f();
    times.push(performance.now() - start);
  }
  return Math.round(median(times) * 10) / 10;
}

const round = (x: number): number => Math.round(x * 100) / 100;
const backend = () => tf.backend() as BackendWasm;

/** Runs a kernel config directly on TensorInfos and frees its outputs: the kernel's own time only. */
function runKernel(config: tf.KernelConfig, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): void {
  const out = config.kernelFunc({ inputs, attrs, backend: backend() });
  for (const info of Array.isArray(out) ? out : [out]) backend().disposeData(info.dataId);
}

interface KernelRow {
  kernel: string;
  shape: string;
  ours_ms: number;
  previous: string;
  previous_ms: number | null;
  speedup: number | null;
  forward_conv2d_ms?: number;
}

async function kernelRow(
  kernel: string,
  shape: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
  previous: { name: string; run: (() => void) | null },
  forward?: () => void,
): Promise<KernelRow> {
  const ours = tf.getKernel(kernel, 'wasm')!;
  const ours_ms = await time(() => runKernel(ours, inputs, attrs));
  const previous_ms = previous.run === null ? null : await time(previous.run, Math.min(RUNS, 3));
  const row: KernelRow = {
    kernel,
    shape,
    ours_ms,
    previous: previous.name,
    previous_ms,
    speedup: previous_ms === null ? null : round(previous_ms / ours_ms),
  };
  if (forward !== undefined) row.forward_conv2d_ms = await time(forward);
  return row;
}

/** The U-Net's convolutions at batch 4 of 256x256, base 16, depth 4: [size, Ci, Co] per level. */
const CONV_LEVELS: [number, number, number][] = [
  [256, 1, 16],
  [256, 16, 16],
  [128, 32, 32],
  [64, 64, 64],
  [32, 128, 128],
];
/** Transposed 2x2 stride-2 convolutions: [output size, Ci (output channels), Co (input channels)]. */
const UP_LEVELS: [number, number, number][] = [
  [256, 16, 32],
  [128, 32, 64],
  [64, 64, 128],
];

async function kernelRows(stock: Map<string, tf.KernelConfig>): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  const stockRun = (name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => () =>
    runKernel(stock.get(name)!, inputs, attrs);
  const conv3d = stock.get('Conv3DBackpropFilterV2')!;

  for (const [size, ci, co] of CONV_LEVELS) {
    const x = tf.randomNormal([BATCH, size, size, ci]);
    const dy = tf.randomNormal([BATCH, size, size, co]);
    const w = tf.randomNormal([3, 3, ci, co]);
    const x5 = x.expandDims(1);
    const dy5 = dy.expandDims(1);
    const shape = `${BATCH}x${size}x${size}, 3x3 ${ci}->${co}, stride 1 same`;
    const conv = { strides: 1, pad: 'same', dataFormat: 'NHWC' };
    rows.push(
      await kernelRow(
        'Conv2DBackpropFilter',
        shape,
        { x, dy },
        { ...conv, filterShape: [3, 3, ci, co] },
        {
          name: 'Conv3DBackpropFilterV2 with a depth-1 axis (stride 1 only)',
          run: () =>
            runKernel(
              conv3d,
              { x: x5, dy: dy5 },
              { strides: [1, 1, 1], pad: 'same', filterShape: [1, 3, 3, ci, co] },
            ),
        },
        () => runKernel(tf.getKernel('Conv2D', 'wasm')!, { x, filter: w }, { ...conv, dilations: 1 }),
      ),
    );
    if (ci > 1) {
      const attrs = { ...conv, inputShape: [BATCH, size, size, ci] };
      rows.push(
        await kernelRow('Conv2DBackpropInput', shape, { dy, filter: w }, attrs, {
          name: 'stock tfjs-backend-wasm kernel',
          run: stockRun('Conv2DBackpropInput', { dy, filter: w }, attrs),
        }),
      );
    }
    tf.dispose([x, dy, w, x5, dy5]);
  }

  for (const [size, ci, co] of UP_LEVELS) {
    const big = tf.randomNormal([BATCH, size, size, ci]);
    const small = tf.randomNormal([BATCH, size / 2, size / 2, co]);
    const w = tf.randomNormal([2, 2, ci, co]);
    const shape = `conv2dTranspose ${BATCH}x${size / 2}x${size / 2}x${co} -> ${size}x${size}x${ci}, 2x2 s2 same`;
    const conv = { strides: 2, pad: 'same', dataFormat: 'NHWC' };
    const forwardAttrs = { ...conv, inputShape: [BATCH, size, size, ci] };
    rows.push(
      await kernelRow(
        'Conv2DBackpropInput',
        `${shape} (its forward)`,
        { dy: small, filter: w },
        forwardAttrs,
        {
          name: 'stock tfjs-backend-wasm kernel',
          run: stockRun('Conv2DBackpropInput', { dy: small, filter: w }, forwardAttrs),
        },
      ),
    );
    rows.push(
      await kernelRow(
        'Conv2DBackpropFilter',
        `${shape} (its filter gradient)`,
        { x: big, dy: small },
        { ...conv, filterShape: [2, 2, ci, co] },
        { name: 'none: WASM has no correct kernel for stride 2', run: null },
      ),
    );
    tf.dispose([big, small, w]);
  }

  for (const [size, c] of [
    [256, 16],
    [128, 32],
    [64, 64],
  ] as const) {
    const a = tf.randomNormal([BATCH, size, size, c]);
    const b = tf.randomNormal([BATCH, size, size, c]);
    const joined = tf.concat([a, b], 3);
    const shape = `2 x ${BATCH}x${size}x${size}x${c} along channels`;
    const concatAttrs = { axis: 3 };
    const splitAttrs = { numOrSizeSplits: [c, c], axis: 3 };
    const stockName = 'stock tfjs-backend-wasm kernel';
    const concatInputs = [a, b] as unknown as tf.NamedTensorInfoMap;
    rows.push(
      await kernelRow('Concat', shape, concatInputs, concatAttrs, {
        name: stockName,
        run: stockRun('Concat', concatInputs, concatAttrs),
      }),
    );
    rows.push(
      await kernelRow('SplitV', shape, { x: joined }, splitAttrs, {
        name: stockName,
        run: stockRun('SplitV', { x: joined }, splitAttrs),
      }),
    );
    tf.dispose([a, b, joined]);
  }

  // Batch norm's gradient tiles 1/sqrt(variance) to the input's shape (tfjs-core FusedBatchNorm_grad).
  for (const [size, c] of [
    [256, 16],
    [128, 32],
  ] as const) {
    const v = tf.randomNormal([1, 1, 1, c]);
    const attrs = { reps: [BATCH, size, size, 1] };
    rows.push(
      await kernelRow('Tile', `1x1x1x${c} to ${BATCH}x${size}x${size}x${c}`, { x: v }, attrs, {
        name: 'stock tfjs-backend-wasm kernel',
        run: stockRun('Tile', { x: v }, attrs),
      }),
    );
    v.dispose();
  }

  // The bias gradient (Sum over N, H, W), the max-pool gradient and Identity, on the U-Net's activations.
  for (const [size, c] of [
    [256, 8],
    [128, 32],
  ] as const) {
    const a = tf.randomNormal([BATCH, size, size, c]);
    const pooled = tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
    const dy = tf.randomNormal(pooled.shape);
    const shape = `${BATCH}x${size}x${size}x${c}`;
    const stockName = 'stock tfjs-backend-wasm kernel';
    const sumAttrs = { axis: [0, 1, 2], keepDims: false };
    rows.push(
      await kernelRow('Sum', `${shape} over N, H, W`, { x: a }, sumAttrs, {
        name: stockName,
        run: stockRun('Sum', { x: a }, sumAttrs),
      }),
    );
    const poolInputs = { dy, input: a, output: pooled };
    const poolAttrs = { filterSize: 2, strides: 2, pad: 'valid' };
    rows.push(
      await kernelRow('MaxPoolGrad', `${shape}, 2x2 stride 2`, poolInputs, poolAttrs, {
        name: stockName,
        run: stockRun('MaxPoolGrad', poolInputs, poolAttrs),
      }),
    );
    rows.push(
      await kernelRow(
        'Identity',
        shape,
        { x: a },
        {},
        { name: stockName, run: stockRun('Identity', { x: a }, {}) },
      ),
    );
    tf.dispose([a, pooled, dy]);
  }
  // The 3x3 'same' convolutions of the default member's forward (bias + ReLU fused): Winograd against XNNPACK.
  for (const [size, ci, co] of [
    [256, 8, 8],
    [256, 16, 8],
    [128, 16, 16],
    [128, 32, 16],
    [64, 32, 32],
    [64, 64, 32],
    [32, 64, 64],
  ] as const) {
    const x = tf.randomNormal([BATCH, size, size, ci]);
    const filter = tf.randomNormal([3, 3, ci, co], 0, 0.2);
    const bias = tf.randomNormal([co]);
    const inputs = { x, filter, bias };
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
    rows.push(
      await kernelRow(
        'FusedConv2D',
        `${BATCH}x${size}x${size}x${ci} -> ${co}, 3x3 + bias + ReLU`,
        inputs,
        attrs,
        {
          name: 'stock tfjs-backend-wasm kernel (XNNPACK)',
          run: stockRun('FusedConv2D', inputs, attrs),
        },
      ),
    );
    tf.dispose([x, filter, bias]);
  }
  return rows;
}

/**
 * Base-16, depth-4 U-Net like Quorum's (built here so this benchmark does not depend on it): four resolution
 * levels of two conv3x3 (no bias) + batch norm + ReLU, 16 to 128 channels, 2x2 stride-2 transposed-conv
 * upsampling, skip concatenation, 1x1 conv + sigmoid.
 */
function unet(size: number, base = 16, depth = 4): tf.LayersModel {
  const block = (input: tf.SymbolicTensor, filters: number): tf.SymbolicTensor => {
    let x = input;
    for (let i = 0; i < 2; i++) {
      x = tf.layers
        .conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false })
        .apply(x) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
      x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
    }
    return x;
  };
  const input = tf.input({ shape: [size, size, 1] });
  const skips: tf.SymbolicTensor[] = [];
  let x = input;
  for (let level = 0; level < depth - 1; level++) {
    x = block(x, base * 2 ** level);
    skips.push(x);
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  }
  x = block(x, base * 2 ** (depth - 1));
  for (let level = depth - 2; level >= 0; level--) {
    const filters = base * 2 ** level;
    const up = tf.layers
      .conv2dTranspose({ filters, kernelSize: 2, strides: 2, padding: 'same' })
      .apply(x) as tf.SymbolicTensor;
    x = block(tf.layers.concatenate().apply([up, skips[level]!]) as tf.SymbolicTensor, filters);
  }
  const output = tf.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(x);
  return tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
}

async function trainStep(): Promise<Record<string, unknown>> {
  const model = unet(SIZE);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' });
  const x = tf.randomUniform([BATCH, SIZE, SIZE, 1]);
  const y = tf.cast(tf.greater(x, 0.5), 'float32');
  const step = () => model.trainOnBatch(x, y);
  const ours_ms = await time(step);

  // Previous: only the filter gradient added (the least that lets model.fit run), stock kernels otherwise.
  restoreWasmKernels();
  tf.registerKernel(conv2DBackpropFilterConfig);
  const filterGradientOnly_ms = await time(step, Math.min(RUNS, 3));
  tf.unregisterKernel(conv2DBackpropFilterConfig.kernelName, 'wasm');
  registerFastWasmKernels();

  const forward_ms = await time(() => tf.tidy(() => model.predict(x)));
  const result = {
    model: `U-Net base 16, depth 4, ${model.countParams()} parameters, batch norm, Conv2DTranspose upsampling`,
    input: `batch ${BATCH} of ${SIZE}x${SIZE}x1`,
    ours_ms,
    previous:
      'only Conv2DBackpropFilter added; stock Conv2DBackpropInput, Concat, SplitV, Tile, Identity, Sum, MaxPoolGrad',
    previous_ms: filterGradientOnly_ms,
    speedup: round(filterGradientOnly_ms / ours_ms),
    predict_ms: forward_ms,
  };
  tf.dispose([x, y]);
  model.dispose();
  return result;
}

async function main(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  const stock = new Map(
    [
      'Conv2DBackpropInput',
      'Concat',
      'SplitV',
      'Tile',
      'Identity',
      'Sum',
      'MaxPoolGrad',
      'Conv2D',
      'FusedConv2D',
      'Conv3DBackpropFilterV2',
    ].map((name) => [name, tf.getKernel(name, 'wasm')!]),
  );
  const selection = await selectBackend('wasm');
  const kernels = await kernelRows(stock);
  const step = await trainStep();
  const report = {
    command: 'npx tsx train/bench/kernels.ts',
    backend: selection.detail,
    runs: `median of ${RUNS} (stock kernels: of ${Math.min(RUNS, 3)}) after one warm-up`,
    node: process.version,
    kernels,
    trainStep: step,
  };
  console.log(JSON.stringify(report, null, 2));
}

await main();
