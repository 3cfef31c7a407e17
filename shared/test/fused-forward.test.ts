import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildUNet, compileForward, type UNetConfig } from '../src/model';
import { registerFastWasmKernels, restoreWasmKernels } from '../src/wasm-kernels';

// The fused forward must compute what model.predict computes, on the backends the product runs, while
// running fewer kernels (no separate bias add, ReLU, normalisation or transposed convolution).

const base: UNetConfig = {
  depth: 2,
  baseFilters: 4,
  batchNorm: false,
  upsampling: 'transpose',
  inputChannels: 1,
};
const variants: [string, UNetConfig][] = [
  ['transposed upsampling', base],
  ['BatchNorm', { ...base, batchNorm: true }],
  ['nearest upsampling + BatchNorm', { ...base, upsampling: 'nearest', batchNorm: true }],
  ['contour head', { ...base, contour: true }],
];

/** Non-trivial normalisation statistics, so that folding them is actually exercised. */
function randomizeBatchNorm(model: tf.LayersModel): void {
  let seed = 10;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(
      layer.getWeights().map((w, i) =>
        // gamma, beta, moving mean, moving variance (kept positive)
        i === 3
          ? tf.randomUniform(w.shape, 0.5, 2, 'float32', seed++)
          : tf.randomUniform(w.shape, -1, 1, 'float32', seed++),
      ),
    );
  }
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

async function kernelsRun(f: () => tf.Tensor): Promise<string[]> {
  const profile = await tf.profile(() => f());
  return profile.kernels.map((k) => k.name);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fused forward on ${backend}`, () => {
    afterAll(() => restoreWasmKernels());

    for (const [name, config] of variants) {
      it(`${name}: equals model.predict, with no separate bias, ReLU or normalisation kernels`, async () => {
        await tf.setBackend(backend);
        if (backend === 'wasm') registerFastWasmKernels();
        const model = buildUNet(config, 3);
        randomizeBatchNorm(model);
        const forward = compileForward(model);
        expect(forward).not.toBeNull();
        const x = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
        const expected = model.predict(x) as tf.Tensor;
        const before = tf.memory().numTensors;
        const got = forward!(x);
        expect(tf.memory().numTensors).toBe(before + 1); // only the output survives
        expect(got.shape).toEqual(expected.shape);
        expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);

        const plain = await kernelsRun(() => model.predict(x) as tf.Tensor);
        const fused = await kernelsRun(() => forward!(x));
        expect(plain).toContain('Relu');
        if (config.batchNorm) expect(plain).toContain('FusedBatchNorm');
        for (const k of ['Relu', 'FusedBatchNorm', 'Conv2DBackpropInput']) expect(fused).not.toContain(k);
        // Folding the normalisation adds and multiplies weight-sized tensors; without it nothing is added.
        if (!config.batchNorm) {
          expect(plain).toContain('Add');
          expect(fused).not.toContain('Add');
        }
        // On WASM each transposed-conv decoder level's concatenation and 3x3 conv are one kernel, which
        // reads the skip and the unrearranged upsampling directly (no Concat; the Transposes left are the
        // transposed convs' weights').
        const skipUps = fused.filter((k) => k === 'QuorumSkipUpConv3x3').length;
        expect(fused.filter((k) => k === 'FusedConv2D').length + skipUps).toBe(
          model.layers.filter((l) => ['Conv2D', 'Conv2DTranspose'].includes(l.getClassName())).length,
        );
        if (backend === 'wasm' && config.upsampling === 'transpose') {
          expect(skipUps).toBe(config.depth);
          expect(fused).not.toContain('Concat');
          expect(fused.filter((k) => k === 'Transpose').length).toBe(config.depth);
        } else {
          expect(skipUps).toBe(0);
        }
        for (const t of [x, expected, got]) t.dispose();
        model.dispose();
      });
    }
  });
}

describe('fused forward: the fused decoder step where it cannot run', () => {
  afterAll(() => restoreWasmKernels());

  it('on WASM, channel counts off whole blocks go through rearrange + concatenate + conv, still equal', async () => {
    await tf.setBackend('wasm');
    registerFastWasmKernels();
    // 2 base filters: skips of 2 and 4 channels, the first no whole block of 4 (the input is 20 x 36, no
    // whole blocks either: the module pads sizes, not channels).
    const model = buildUNet({ ...base, baseFilters: 2, batchNorm: true }, 4);
    randomizeBatchNorm(model);
    const forward = compileForward(model)!;
    const x = tf.randomUniform([1, 20, 36, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
    const expected = model.predict(x) as tf.Tensor;
    const got = forward(x);
    expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);
    const fused = await kernelsRun(() => forward(x));
    // The 2-channel level concatenates; the 4-channel one still fuses.
    expect(fused.filter((k) => k === 'QuorumSkipUpConv3x3')).toHaveLength(1);
    expect(fused.filter((k) => k === 'Concat')).toHaveLength(1);
    for (const t of [x, expected, got]) t.dispose();
    model.dispose();
  });
});

describe('fused forward: what it reads and when it declines', () => {
  it('reads the weights at each call, so it follows training', async () => {
    await tf.setBackend('cpu');
    const model = buildUNet(base, 1);
    const forward = compileForward(model)!;
    const x = tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const before = forward(x);
    const head = model.getLayer('head');
    head.setWeights(head.getWeights().map((w) => tf.mul(w, 2)));
    const after = forward(x);
    expect(maxAbsDiff(after, before)).toBeGreaterThan(1e-4);
    const expected = model.predict(x) as tf.Tensor;
    expect(maxAbsDiff(after, expected)).toBeLessThan(1e-6);
    for (const t of [x, before, after, expected]) t.dispose();
    model.dispose();
  });

  it('runs layers it cannot fuse as themselves (a ReLU6 cap, a transposed conv with overlapping kernel)', async () => {
    await tf.setBackend('cpu');
    const input = tf.input({ shape: [16, 16, 1] });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: 'ones' });
    const capped = tf.layers.reLU({ maxValue: 0.5 }).apply(conv.apply(input)) as tf.SymbolicTensor;
    const up = tf.layers
      .conv2dTranspose({
        filters: 2,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        kernelInitializer: 'glorotUniform',
      })
      .apply(capped) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: up });
    const forward = compileForward(model)!;
    const x = tf.randomUniform([1, 16, 16, 1], -1, 1, 'float32', 4) as tf.Tensor4D;
    const expected = model.predict(x) as tf.Tensor;
    const got = forward(x);
    expect(maxAbsDiff(got, expected)).toBeLessThan(1e-6);
    for (const t of [x, expected, got]) t.dispose();
    model.dispose();
  });

  it('declines a graph with a layer applied twice (then the runner uses predict)', async () => {
    await tf.setBackend('cpu');
    const input = tf.input({ shape: [8, 8, 1] });
    const shared = tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same' });
    const twice = shared.apply(shared.apply(input)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: twice });
    expect(compileForward(model)).toBeNull();
    model.dispose();
  });
});
