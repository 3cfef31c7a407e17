import * as tf from '@tensorflow/tfjs';

/**
 * Inference for a functional layers model with its cheap steps folded into the convolutions, on any backend:
 * - a convolution followed by BatchNormalization (inference statistics) gets the normalisation folded into its
 *   kernel and bias;
 * - a linear convolution followed by an Activation layer runs as one fused convolution with that activation;
 * - a transposed convolution whose kernel equals its stride (the U-Net's 2x2/2 upsampling) runs as one fused
 *   1x1 convolution to s*s*C channels, bias and activation included, rearranged to space by reshape + transpose.
 * `model.predict` runs each of those as its own pass over the tensor (bias add, ReLU, normalisation), which on
 * the WASM backend costs about a tenth of a small U-Net's time; the result equals it up to float rounding.
 * Every other layer runs as itself (`layer.apply`), so an unfamiliar layer costs speed, never correctness.
 */
export type Forward = (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * A backend's one-pass 3x3 'same' convolution (bias; ReLU or none) of the channel concatenation
 * [skip, depthToSpace(up, 2)], or null where it cannot take these tensors. The WASM kernels install one
 * (registerFastWasmKernels): a U-Net decoder level then skips writing the upsampled tensor and the concatenation.
 */
export type SkipUpConv = (
  skip: tf.Tensor4D,
  up: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D | undefined,
  relu: boolean,
) => tf.Tensor4D | null;
let skipUpConv: SkipUpConv | null = null;

/** Installs (or with null removes) the backend's fused decoder step; compiled forwards look it up at every call. */
export function setSkipUpConv(f: SkipUpConv | null): void {
  skipUpConv = f;
}

type Layer = tf.layers.Layer;
type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid';
const FUSABLE_ACTIVATIONS: readonly string[] = ['linear', 'relu', 'relu6', 'elu', 'sigmoid'];

/** One computation of the compiled plan: reads the outputs of `inputs` (step indices), writes its own. */
interface Step {
  inputs: number[];
  run: (xs: tf.Tensor[]) => tf.Tensor;
}

const className = (layer: Layer) => layer.getClassName();
const pair = (v: unknown): [number, number] =>
  Array.isArray(v) ? [v[0] as number, (v[1] ?? v[0]) as number] : [v as number, v as number];

function activationOf(config: tf.serialization.ConfigDict): string {
  const a = config['activation'];
  return typeof a === 'string' ? a : 'linear';
}

/** The fusable function of an Activation or plain ReLU layer, else null. */
function activationLayerFunction(layer: Layer): Activation | null {
  const c = layer.getConfig();
  if (className(layer) === 'ReLU') return c['maxValue'] == null ? 'relu' : null;
  const a = activationOf(c);
  return FUSABLE_ACTIVATIONS.includes(a) ? (a as Activation) : null;
}

/**
 * Compiles `model` into a fused forward function, or returns null when its graph is not a plain
 * single-input, single-output graph of single-use layers (then call `model.predict`). The plan is fixed at
 * compile time but the weights are read at every call (folding them costs a few tiny ops per call), so the
 * function follows training and needs no disposal of its own.
 */
export function compileForward(model: tf.LayersModel): Forward | null {
  const layers = model.layers;
  const index = new Map<Layer, number>(layers.map((l, i) => [l, i]));
  const producers: number[][] = [];
  for (const layer of layers) {
    if (layer.inboundNodes.length !== 1) return null;
    const node = layer.inboundNodes[0]!;
    if (node.nodeIndices.some((n) => n !== 0) || node.tensorIndices.some((t) => t !== 0)) return null;
    const from = node.inboundLayers.map((l) => index.get(l));
    if (from.some((i) => i === undefined)) return null;
    producers.push(from as number[]);
  }
  const inputs = layers.flatMap((l, i) => (className(l) === 'InputLayer' ? [i] : []));
  if (inputs.length !== 1 || model.outputs.length !== 1) return null;
  const outputLayer = index.get(model.outputs[0]!.sourceLayer as Layer);
  if (outputLayer === undefined) return null;
  const consumers = layers.map(() => 0);
  for (const from of producers) for (const i of from) consumers[i]!++;
  consumers[outputLayer]!++;

  // Layer i's value is the output of step stepOf[i]; folded layers share the step of the layer they fold into.
  const stepOf = new Array<number>(layers.length).fill(-1);
  const steps: Step[] = [];
  const soleSuccessor = (i: number, kinds: readonly string[]): number | null => {
    if (consumers[i] !== 1 || i === outputLayer) return null;
    const next = producers.findIndex((from) => from.length === 1 && from[0] === i);
    return next >= 0 && kinds.includes(className(layers[next]!)) ? next : null;
  };

  // A decoder level "transposed conv (kernel = stride = 2) -> concatenate after the skip -> 3x3 conv": the
  // transposed conv's step keeps its result unrearranged, and the concatenation's step is the whole rest.
  const skipUps = new Map<number, SkipUpPlan>();
  const skipUpOf = (t: number): SkipUpPlan | null => {
    const plan = transposePlan(layers[t]!);
    if (plan?.blocks !== 2 || consumers[t] !== 1 || t === outputLayer) return null;
    const concat = producers.findIndex((from) => from.includes(t));
    const cl = layers[concat];
    if (!cl || className(cl) !== 'Concatenate' || producers[concat]!.length !== 2) return null;
    if (producers[concat]![1] !== t || !lastAxisConcat(cl)) return null;
    const conv = soleSuccessor(concat, ['Conv2D']);
    const cp = conv === null ? null : convPlan(layers[conv]!);
    if (conv === null || cp === null || !isSame3x3(layers[conv]!, cp)) return null;
    const chain = [concat, conv];
    const bnAt = soleSuccessor(conv, ['BatchNormalization']);
    let bn: Layer | null = null;
    if (bnAt !== null) {
      if (cp.activation !== 'linear' || !lastAxisNorm(layers[bnAt]!)) return null;
      bn = layers[bnAt]!;
      chain.push(bnAt);
    }
    const act = soleSuccessor(chain[chain.length - 1]!, ['Activation', 'ReLU']);
    const a = act === null ? null : activationLayerFunction(layers[act]!);
    if (act !== null && a !== null && cp.activation === 'linear') {
      cp.activation = a;
      chain.push(act);
    }
    return { up: plan, concat, conv, convPlan: cp, bn, chain };
  };

  for (let i = 0; i < layers.length; i++) {
    if (stepOf[i]! >= 0) continue;
    const layer = layers[i]!;
    if (i === inputs[0]) {
      stepOf[i] = -2; // the input tensor itself
      continue;
    }
    const from = producers[i]!.map((p) => stepOf[p]!);
    if (from.includes(-1)) return null; // not in topological order
    const kind = className(layer);
    const skipUp = skipUps.get(i);
    if (skipUp) {
      const convLayer = layers[skipUp.conv]!;
      const { convPlan: cp, bn } = skipUp;
      steps.push({
        inputs: from,
        run: ([skip, up]) => runSkipUp(skip as tf.Tensor4D, up as tf.Tensor4D, cp, convLayer, bn),
      });
      for (const j of skipUp.chain) stepOf[j] = steps.length - 1;
      continue;
    }
    if (kind === 'Conv2DTranspose') {
      const su = skipUpOf(i);
      if (su) {
        skipUps.set(su.concat, su);
        steps.push({ inputs: from, run: ([x]) => runConv(x as tf.Tensor4D, su.up, layer, null, false) });
        stepOf[i] = steps.length - 1;
        continue;
      }
    }
    // The layers this step computes: i, then any BatchNormalization and Activation folded into it.
    const chain = [i];
    const plan =
      kind === 'Conv2D' ? convPlan(layer) : kind === 'Conv2DTranspose' ? transposePlan(layer) : null;
    if (plan !== null) {
      const bn = soleSuccessor(i, ['BatchNormalization']);
      let bnLayer: Layer | null = null;
      if (bn !== null && plan.activation === 'linear' && kind === 'Conv2D' && lastAxisNorm(layers[bn]!)) {
        bnLayer = layers[bn]!;
        chain.push(bn);
      }
      const act = soleSuccessor(chain[chain.length - 1]!, ['Activation', 'ReLU']);
      const a = act === null ? null : activationLayerFunction(layers[act]!);
      if (act !== null && a !== null && plan.activation === 'linear') {
        plan.activation = a;
        chain.push(act);
      }
      steps.push({ inputs: from, run: ([x]) => runConv(x as tf.Tensor4D, plan, layer, bnLayer) });
    } else {
      steps.push({ inputs: from, run: (xs) => layer.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor });
    }
    for (const j of chain) stepOf[j] = steps.length - 1;
  }
  const outStep = stepOf[outputLayer]!;
  if (outStep === -1) return null;

  // Each intermediate is freed after its last reader, as model.predict does: holding every activation of a
  // large tile until the end would multiply peak memory.
  const lastReader = steps.map(() => -1);
  steps.forEach((step, k) => {
    for (const s of step.inputs) if (s >= 0) lastReader[s] = k;
  });
  return (x) =>
    tf.tidy(() => {
      const values: (tf.Tensor | null)[] = [];
      const get = (s: number) => (s === -2 ? x : values[s]!);
      steps.forEach((step, k) => {
        values.push(step.run(step.inputs.map(get)));
        for (const s of step.inputs) {
          const v = values[s];
          if (s < 0 || s === outStep || lastReader[s] !== k || !v) continue;
          values[s] = null;
          // A pass-through layer (e.g. Dropout at inference) returns its input object itself.
          if (v !== x && !values.includes(v)) v.dispose();
        }
      });
      return get(outStep) as tf.Tensor4D;
    });
}

/** What a fused convolution step needs besides the weights, fixed at compile time. */
interface ConvPlan {
  /** Set for a transposed convolution run as a pointwise one: its stride (= kernel size). */
  blocks: number | null;
  strides: [number, number];
  dilations: [number, number];
  pad: 'same' | 'valid';
  useBias: boolean;
  activation: Activation;
}

function channelsLast(c: tf.serialization.ConfigDict): boolean {
  return c['dataFormat'] === undefined || c['dataFormat'] === 'channelsLast';
}

function convPlan(layer: Layer): ConvPlan | null {
  const c = layer.getConfig();
  const activation = activationOf(c);
  if (!FUSABLE_ACTIVATIONS.includes(activation) || !channelsLast(c)) return null;
  if (c['padding'] !== 'same' && c['padding'] !== 'valid') return null;
  return {
    blocks: null,
    strides: pair(c['strides']),
    dilations: pair(c['dilationRate'] ?? 1),
    pad: c['padding'],
    useBias: c['useBias'] !== false,
    activation: activation as Activation,
  };
}

/**
 * A transposed convolution whose kernel tiles the output without overlap (kernel = stride; 'same' and 'valid'
 * padding then agree) runs as a 1x1 convolution to s*s*C channels: channel (a*s + b)*C + c of its result is
 * output pixel (i*s + a, j*s + b), channel c. Null for any other transposed convolution.
 */
function transposePlan(layer: Layer): ConvPlan | null {
  const c = layer.getConfig();
  const activation = activationOf(c);
  const [kh, kw] = pair(c['kernelSize']);
  const [sh, sw] = pair(c['strides']);
  if (!FUSABLE_ACTIVATIONS.includes(activation) || !channelsLast(c)) return null;
  if (kh !== sh || kw !== sw || sh !== sw || sh < 2) return null;
  if (pair(c['dilationRate'] ?? 1).some((d) => d !== 1)) return null;
  return {
    blocks: sh,
    strides: [1, 1],
    dilations: [1, 1],
    pad: 'valid',
    useBias: c['useBias'] !== false,
    activation: activation as Activation,
  };
}

function lastAxisNorm(bn: Layer): boolean {
  const axis = bn.getConfig()['axis'];
  const a = Array.isArray(axis) && axis.length === 1 ? axis[0] : axis;
  return a === -1 || a === 3;
}

/** A fused decoder level: the transposed conv's plan (its step), the concatenation, the 3x3 conv and its chain. */
interface SkipUpPlan {
  up: ConvPlan;
  concat: number;
  conv: number;
  convPlan: ConvPlan;
  /** A BatchNormalization after the conv, folded into it. */
  bn: Layer | null;
  /** The layers the concatenation's step computes: the concatenation, the conv, a folded normalisation and activation. */
  chain: number[];
}

function lastAxisConcat(layer: Layer): boolean {
  const axis = layer.getConfig()['axis'];
  return axis === undefined || axis === -1 || axis === 3;
}

function isSame3x3(layer: Layer, plan: ConvPlan): boolean {
  const [kh, kw] = pair(layer.getConfig()['kernelSize']);
  return (
    kh === 3 &&
    kw === 3 &&
    plan.pad === 'same' &&
    plan.strides.every((s) => s === 1) &&
    plan.dilations.every((d) => d === 1)
  );
}

/**
 * conv(concat([skip, depthToSpace(up, 2)])): in one pass where the backend has a fused step (setSkipUpConv),
 * else rearranged, concatenated and convolved as three ops.
 */
function runSkipUp(
  skip: tf.Tensor4D,
  up: tf.Tensor4D,
  plan: ConvPlan,
  layer: Layer,
  bn: Layer | null,
): tf.Tensor4D {
  if (skipUpConv && (plan.activation === 'linear' || plan.activation === 'relu')) {
    const [kernel, layerBias] = layer.getWeights() as [tf.Tensor4D, tf.Tensor1D | undefined];
    let filter = kernel;
    let bias = plan.useBias ? layerBias : undefined;
    if (bn !== null) ({ filter, bias } = foldBatchNorm(filter, bias, bn));
    const y = skipUpConv(skip, up, filter, bias, plan.activation === 'relu');
    if (y) return y;
  }
  return runConv(tf.concat([skip, blocksToSpace(up, 2)], 3), plan, layer, bn);
}

/**
 * Runs inside the forward's tidy: every tensor derived from the weights here is freed with it. A transposed
 * convolution's result is rearranged to space unless `toSpace` is false (a fused decoder step takes it as it is).
 */
function runConv(
  x: tf.Tensor4D,
  plan: ConvPlan,
  layer: Layer,
  bn: Layer | null,
  toSpace = true,
): tf.Tensor4D {
  const [kernel, layerBias] = layer.getWeights() as [tf.Tensor4D, tf.Tensor1D | undefined];
  let filter = kernel;
  let bias = plan.useBias ? layerBias : undefined;
  if (plan.blocks !== null) {
    const s = plan.blocks;
    const [, , co, ci] = kernel.shape;
    // Kernel [s, s, Co, Ci] -> [1, 1, Ci, (a, b, co)].
    filter = kernel.transpose([3, 0, 1, 2]).reshape([1, 1, ci, s * s * co]);
    if (bias) bias = tf.tile(bias, [s * s]);
  }
  if (bn !== null) ({ filter, bias } = foldBatchNorm(filter, bias, bn));
  const y = tf.fused.conv2d({
    x,
    filter,
    strides: plan.strides,
    pad: plan.pad,
    dilations: plan.dilations,
    dataFormat: 'NHWC',
    ...(bias ? { bias } : {}),
    activation: plan.activation,
  });
  return plan.blocks !== null && toSpace ? blocksToSpace(y, plan.blocks) : y;
}

/** DepthToSpace by reshape + transpose, which every backend runs fast (WASM's DepthToSpace is a scalar loop). */
function blocksToSpace(y: tf.Tensor4D, s: number): tf.Tensor4D {
  const [n, h, w, ch] = y.shape;
  const co = ch / (s * s);
  return y
    .reshape([n * h, w, s, s * co])
    .transpose([0, 2, 1, 3])
    .reshape([n, h * s, w * s, co]);
}

/** Folds an inference-mode BatchNormalization over the last axis into the convolution before it. */
function foldBatchNorm(
  filter: tf.Tensor4D,
  bias: tf.Tensor1D | undefined,
  bn: Layer,
): { filter: tf.Tensor4D; bias: tf.Tensor1D } {
  const c = bn.getConfig();
  const weights = bn.getWeights();
  let k = 0;
  const gamma = c['scale'] !== false ? weights[k++] : undefined;
  const beta = c['center'] !== false ? weights[k++] : undefined;
  const mean = weights[k++]!;
  const variance = weights[k++]!;
  const epsilon = (c['epsilon'] as number | undefined) ?? 1e-3;
  let factor = tf.rsqrt(tf.add(variance, epsilon));
  if (gamma) factor = factor.mul(gamma);
  let folded = (bias ? bias.sub(mean) : tf.neg(mean)).mul(factor);
  if (beta) folded = folded.add(beta);
  return { filter: filter.mul(factor), bias: folded as tf.Tensor1D };
}
