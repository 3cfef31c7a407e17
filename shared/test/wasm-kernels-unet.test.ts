import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerFastWasmKernels } from '../src/wasm-kernels';

// End to end: a tiny U-Net-like net using every layer type Quorum's U-Net trains with
// (3x3 convs with and without bias, batch norm, max pooling, 2x2 stride-2 transposed conv, skip concat,
// 1x1 conv + sigmoid) must get the same gradients on WASM as on the CPU backend, and learn on WASM.

function tinyUNet(size: number): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 1] });
  let seed = 0;
  // Seeded, so that the loss curve (and the test) is the same on every run.
  const init = () => tf.initializers.heNormal({ seed: ++seed });
  const conv = (filters: number, useBias = true) =>
    tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias, kernelInitializer: init() });
  const skip = tf.layers.reLU().apply(conv(4).apply(input)) as tf.SymbolicTensor;
  const normed = tf.layers.batchNormalization().apply(conv(4, false).apply(skip)) as tf.SymbolicTensor;
  const down = tf.layers
    .maxPooling2d({ poolSize: 2 })
    .apply(tf.layers.reLU().apply(normed)) as tf.SymbolicTensor;
  const deep = tf.layers.reLU().apply(conv(8).apply(down)) as tf.SymbolicTensor;
  const up = tf.layers
    .conv2dTranspose({ filters: 4, kernelSize: 2, strides: 2, padding: 'same', kernelInitializer: init() })
    .apply(deep) as tf.SymbolicTensor;
  const merged = tf.layers.concatenate().apply([up, skip]) as tf.SymbolicTensor;
  const head = tf.layers.reLU().apply(conv(4).apply(merged)) as tf.SymbolicTensor;
  const output = tf.layers
    .conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', kernelInitializer: init() })
    .apply(head);
  return tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
}

/** A learnable toy task: the mask is where the image is bright. */
function toyBatch(batch: number, size: number): { x: tf.Tensor4D; y: tf.Tensor4D } {
  return tf.tidy(() => {
    const x = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    return { x, y: tf.cast(tf.greater(x, 0.5), 'float32') as tf.Tensor4D };
  });
}

/** Gradients of the BCE loss w.r.t. every trainable weight, in weight order, computed on one backend. */
async function gradientsOn(
  backend: 'cpu' | 'wasm',
  weights: Float32Array[],
  inputs: { x: Float32Array; y: Float32Array },
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const model = tinyUNet(8);
  const initial = model.getWeights().map((w, i) => tf.tensor(weights[i]!, w.shape));
  model.setWeights(initial);
  tf.dispose(initial);
  const x = tf.tensor4d(inputs.x, [3, 8, 8, 1]);
  const y = tf.tensor4d(inputs.y, [3, 8, 8, 1]);
  const tensors = tf.memory().numTensors;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () => tf.losses.logLoss(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    variables,
  );
  const ordered = variables.map((v) => grads[v.name]!);
  const values = await Promise.all(ordered.map(async (g) => Float32Array.from(await g.data())));
  tf.dispose([value, ...Object.values(grads)]);
  expect(tf.memory().numTensors).toBe(tensors);
  tf.dispose([x, y]);
  model.dispose();
  return values;
}

beforeAll(async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  registerFastWasmKernels();
});

describe('tiny U-Net on WASM', () => {
  it('gets the same gradients as on the CPU backend', async () => {
    await tf.setBackend('cpu');
    const reference = tinyUNet(8);
    const weights = await Promise.all(
      reference.getWeights().map(async (w) => Float32Array.from(await w.data())),
    );
    reference.dispose();
    const { x, y } = toyBatch(3, 8);
    const inputs = { x: Float32Array.from(await x.data()), y: Float32Array.from(await y.data()) };
    tf.dispose([x, y]);

    const cpu = await gradientsOn('cpu', weights, inputs);
    const wasm = await gradientsOn('wasm', weights, inputs);
    expect(wasm.length).toBe(cpu.length);
    for (let i = 0; i < cpu.length; i++) {
      const scale = Math.max(...cpu[i]!.map(Math.abs));
      const diff = Math.max(...cpu[i]!.map((v, j) => Math.abs(v - wasm[i]![j]!)));
      expect(diff / scale).toBeLessThanOrEqual(1e-4);
    }
  });

  it('decreases the loss over a few model.fit steps', async () => {
    await tf.setBackend('wasm');
    tf.engine().startScope();
    const model = tinyUNet(16);
    model.compile({ optimizer: tf.train.adam(0.03), loss: 'binaryCrossentropy' });
    const { x, y } = toyBatch(4, 16);
    const history = await model.fit(x, y, { epochs: 8, batchSize: 4, verbose: 0, shuffle: false });
    const losses = history.history['loss'] as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.9);
    model.dispose();
    tf.engine().endScope();
  });
});
