import * as tf from '@tensorflow/tfjs';
import { outputChannels, type UNetConfig, validateUNetConfig } from './config';

/**
 * The U-Net in TF.js layers: per level two 3x3 conv (+BatchNorm) + ReLU, 2x2 max-pool down, 2x upsampling
 * (transposed conv or nearest + conv), skip concatenation, and a 1x1 conv + sigmoid head giving the foreground
 * probability (and, with `contour`, the contour probability as a second channel). Fully convolutional: any input whose sides are multiples of 2^depth works.
 *
 * Layer names are deterministic, so weight names in model.json are stable across runs and members; initialisers
 * are seeded, so a member's initial weights are reproducible.
 */
export function buildUNet(config: UNetConfig, seed = 0): tf.LayersModel {
  validateUNetConfig(config);
  let layerSeed = seed * 1000;
  const init = () => tf.initializers.heNormal({ seed: layerSeed++ });

  const convBlock = (x: tf.SymbolicTensor, filters: number, name: string): tf.SymbolicTensor => {
    let y = x;
    for (let i = 1; i <= 2; i++) {
      y = tf.layers
        .conv2d({
          filters,
          kernelSize: 3,
          padding: 'same',
          useBias: !config.batchNorm,
          kernelInitializer: init(),
          name: `${name}_conv${i}`,
        })
        .apply(y) as tf.SymbolicTensor;
      if (config.batchNorm) {
        y = tf.layers.batchNormalization({ axis: -1, name: `${name}_bn${i}` }).apply(y) as tf.SymbolicTensor;
      }
      y = tf.layers
        .activation({ activation: 'relu', name: `${name}_relu${i}` })
        .apply(y) as tf.SymbolicTensor;
    }
    return y;
  };

  const upsample = (x: tf.SymbolicTensor, filters: number, name: string): tf.SymbolicTensor => {
    if (config.upsampling === 'transpose') {
      return tf.layers
        .conv2dTranspose({
          filters,
          kernelSize: 2,
          strides: 2,
          padding: 'same',
          kernelInitializer: init(),
          name: `${name}_up`,
        })
        .apply(x) as tf.SymbolicTensor;
    }
    const up = tf.layers
      .upSampling2d({ size: [2, 2], interpolation: 'nearest', name: `${name}_resize` })
      .apply(x);
    return tf.layers
      .conv2d({ filters, kernelSize: 2, padding: 'same', kernelInitializer: init(), name: `${name}_up` })
      .apply(up) as tf.SymbolicTensor;
  };

  const input = tf.input({ shape: [null, null, config.inputChannels], name: 'image' });
  const skips: tf.SymbolicTensor[] = [];
  let x: tf.SymbolicTensor = input;
  for (let level = 0; level < config.depth; level++) {
    x = convBlock(x, config.baseFilters * 2 ** level, `down${level}`);
    skips.push(x);
    x = tf.layers
      .maxPooling2d({ poolSize: 2, strides: 2, name: `down${level}_pool` })
      .apply(x) as tf.SymbolicTensor;
  }
  x = convBlock(x, config.baseFilters * 2 ** config.depth, 'bottom');
  for (let level = config.depth - 1; level >= 0; level--) {
    const filters = config.baseFilters * 2 ** level;
    x = upsample(x, filters, `up${level}`);
    x = tf.layers
      .concatenate({ axis: -1, name: `up${level}_concat` })
      .apply([skips[level]!, x]) as tf.SymbolicTensor;
    x = convBlock(x, filters, `up${level}`);
  }
  const output = tf.layers
    .conv2d({
      filters: outputChannels(config),
      kernelSize: 1,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed++ }),
      name: 'head',
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'quorum_unet' });
}

/** Trainable + non-trainable parameter count of a configuration, without building it. */
export function countParameters(config: UNetConfig): number {
  const conv = (cin: number, cout: number, k: number, bias: boolean) =>
    cin * cout * k * k + (bias ? cout : 0);
  const bn = (c: number) => (config.batchNorm ? 4 * c : 0);
  const block = (cin: number, cout: number) =>
    conv(cin, cout, 3, !config.batchNorm) + bn(cout) + conv(cout, cout, 3, !config.batchNorm) + bn(cout);
  let total = 0;
  let cin: number = config.inputChannels;
  for (let l = 0; l < config.depth; l++) {
    const f = config.baseFilters * 2 ** l;
    total += block(cin, f);
    cin = f;
  }
  const fb = config.baseFilters * 2 ** config.depth;
  total += block(cin, fb);
  cin = fb;
  for (let l = config.depth - 1; l >= 0; l--) {
    const f = config.baseFilters * 2 ** l;
    total += conv(cin, f, 2, true) + block(2 * f, f);
    cin = f;
  }
  return total + conv(cin, outputChannels(config), 1, true);
}
