import * as tf from '@tensorflow/tfjs';
import { type AttributeValue, floatTensor, floatValueInfo, model, type NodeSpec, node } from './onnx-proto';
import type { Message } from './protobuf';

/**
 * Converts a loaded TF.js layers U-Net (shared/src/model/unet.ts) into an ONNX model with the same weights, so
 * another runtime can run the identical network. TF.js works in NHWC; the ONNX graph is NCHW throughout, which is
 * what ONNX's Conv/Pool ops take, and with one input and one output channel the image bytes are the same in both
 * layouts. Weights are read from the loaded model (TF.js has already dequantized uint8/float16 shards), so the
 * export is float32 like the TF.js forward it is compared with.
 *
 * Only the layer classes the U-Net uses are handled; anything else throws, naming the layer, rather than
 * producing a graph that silently computes something else.
 */

export interface OnnxExportOptions {
  /** Fixed input height/width; symbolic ('H', 'W') when omitted, like the fully convolutional TF.js model. */
  height?: number;
  width?: number;
  /**
   * Batch dimension of the graph's input and output (default 1). The nodes do not depend on it (no reshapes; the
   * Resize scales keep N), only the declared shapes do, so ORT plans its buffers for this batch.
   */
  batch?: number;
}

type Config = ReturnType<tf.layers.Layer['getConfig']>;

/** Typed reads of a layer's config, failing with the layer's name instead of exporting a wrong attribute. */
class LayerConfig {
  constructor(
    private readonly layer: tf.layers.Layer,
    private readonly config: Config = layer.getConfig(),
  ) {}

  fail(message: string): never {
    throw new Error(`ONNX export: layer '${this.layer.name}' (${this.layer.getClassName()}): ${message}`);
  }

  string(key: string): string {
    const v = this.config[key];
    if (typeof v !== 'string') this.fail(`config.${key} is not a string (${JSON.stringify(v)})`);
    return v;
  }

  number(key: string): number {
    const v = this.config[key];
    if (typeof v !== 'number') this.fail(`config.${key} is not a number (${JSON.stringify(v)})`);
    return v;
  }

  boolean(key: string): boolean {
    const v = this.config[key];
    if (typeof v !== 'boolean') this.fail(`config.${key} is not a boolean (${JSON.stringify(v)})`);
    return v;
  }

  /** A 2-D size (kernel, strides, pool): TF.js stores [h, w]; a bare number means square. */
  pair(key: string, fallback?: [number, number]): [number, number] {
    const v = this.config[key] ?? fallback;
    if (typeof v === 'number') return [v, v];
    if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) {
      return [v[0] as number, v[1] as number];
    }
    return this.fail(`config.${key} is not a 2-D size (${JSON.stringify(v)})`);
  }

  channelsLast(): void {
    const format = this.config['dataFormat'];
    if (format !== undefined && format !== 'channelsLast') this.fail(`dataFormat '${String(format)}'`);
  }
}

/** ONNX op of a TF.js activation name; undefined for 'linear' (no node). */
function activationOp(name: string, cfg: LayerConfig): string | undefined {
  switch (name) {
    case 'linear':
      return undefined;
    case 'relu':
      return 'Relu';
    case 'sigmoid':
      return 'Sigmoid';
    case 'tanh':
      return 'Tanh';
    default:
      return cfg.fail(`activation '${name}' is not supported`);
  }
}

/**
 * Explicit ONNX pads [top, left, bottom, right] for a stride-1 'same' window: TF puts floor(total/2) before and the
 * rest after, so an even kernel (the 2x2 conv after nearest upsampling) gets its extra row/column at the
 * bottom/right. With stride 1 the padding does not depend on the input size, so explicit pads are exact for any H, W.
 */
function samePads(kernel: [number, number], dilation: [number, number]): number[] {
  const total = kernel.map((k, i) => (k - 1) * dilation[i]!);
  const before = total.map((t) => Math.floor(t / 2));
  return [...before, ...total.map((t, i) => t - before[i]!)];
}

/** NHWC axis (possibly negative) to the NCHW axis of the same dimension. */
function nchwAxis(axis: number, cfg: LayerConfig): number {
  const a = axis < 0 ? axis + 4 : axis;
  const map = [0, 2, 3, 1];
  if (!(a >= 0 && a < 4)) cfg.fail(`axis ${axis} out of range for a 4-D tensor`);
  return map[a]!;
}

/** A layer's weight tensors by their short name ('kernel', 'bias', 'gamma', ...). */
function weightsOf(layer: tf.layers.Layer): Map<string, tf.Tensor> {
  const values = layer.getWeights();
  const out = new Map<string, tf.Tensor>();
  layer.weights.forEach((w, i) => {
    // originalName: `name` gains a suffix (kernel_1) when another model with the same layer names was loaded.
    out.set(w.originalName.slice(w.originalName.lastIndexOf('/') + 1), values[i]!);
  });
  return out;
}

function floats(t: tf.Tensor): Float32Array {
  const d = t.dataSync();
  if (!(d instanceof Float32Array))
    throw new Error(`ONNX export: weight of dtype ${t.dtype}, expected float32`);
  return d;
}

class GraphBuilder {
  readonly nodes: Message[] = [];
  readonly initializers: Message[] = [];

  add(spec: NodeSpec): void {
    this.nodes.push(node(spec));
  }

  /** An initializer from a TF.js tensor, transposed by `perm` first (weights are tiny: a copy is fine). */
  weight(name: string, t: tf.Tensor, perm?: number[]): string {
    const arranged = perm ? tf.transpose(t, perm) : t;
    this.initializers.push(floatTensor(name, arranged.shape, floats(arranged).slice()));
    if (arranged !== t) arranged.dispose();
    return name;
  }

  constant(name: string, values: readonly number[]): string {
    this.initializers.push(floatTensor(name, [values.length], Float32Array.from(values)));
    return name;
  }

  /**
   * A conv-like node followed by its fused TF.js activation. The layer's name goes on the last node's output, so a
   * linear activation adds no node at all.
   */
  convWithActivation(
    spec: Omit<NodeSpec, 'outputs'>,
    activation: string,
    cfg: LayerConfig,
    out: string,
  ): void {
    const op = activationOp(activation, cfg);
    if (op === undefined) {
      this.add({ ...spec, outputs: [out] });
      return;
    }
    this.add({ ...spec, outputs: [`${out}/preact`] });
    this.add({ op, name: out, inputs: [`${out}/preact`], outputs: [out] });
  }
}

/** Adds one layer's nodes; the layer's output tensor is named after the layer. */
function exportLayer(g: GraphBuilder, layer: tf.layers.Layer, inputs: string[]): void {
  const cfg = new LayerConfig(layer);
  const name = layer.name;
  const cls = layer.getClassName();
  const single = (): string => {
    if (inputs.length !== 1) cfg.fail(`expected one input, got ${inputs.length}`);
    return inputs[0]!;
  };
  switch (cls) {
    case 'Conv2D': {
      cfg.channelsLast();
      const kernel = cfg.pair('kernelSize');
      const strides = cfg.pair('strides');
      const dilations = cfg.pair('dilationRate', [1, 1]);
      const padding = cfg.string('padding');
      const w = weightsOf(layer);
      const attributes: Record<string, AttributeValue> = { kernel_shape: kernel, strides, dilations };
      if (padding === 'same') {
        // With stride > 1 TF's padding depends on the input size; ONNX's SAME_UPPER is the same rule (extra at the end).
        if (strides[0] === 1 && strides[1] === 1) attributes['pads'] = samePads(kernel, dilations);
        else attributes['auto_pad'] = 'SAME_UPPER';
      } else if (padding !== 'valid') {
        cfg.fail(`padding '${padding}'`);
      }
      // TF.js [kh, kw, cin, cout] -> ONNX [cout, cin, kh, kw].
      const conv = [single(), g.weight(`${name}/kernel`, w.get('kernel')!, [3, 2, 0, 1])];
      if (cfg.boolean('useBias')) conv.push(g.weight(`${name}/bias`, w.get('bias')!));
      g.convWithActivation(
        { op: 'Conv', name: `${name}/conv`, inputs: conv, attributes },
        cfg.string('activation'),
        cfg,
        name,
      );
      return;
    }
    case 'Conv2DTranspose': {
      cfg.channelsLast();
      const kernel = cfg.pair('kernelSize');
      const strides = cfg.pair('strides');
      const padding = cfg.string('padding');
      if (padding !== 'same' && padding !== 'valid') cfg.fail(`padding '${padding}'`);
      // TF's 'same' makes the output exactly input * stride: the full transposed output (stride * (in - 1) + k)
      // is cropped by k - stride, floor(total/2) at the start (the forward conv's 'same' rule). 'valid' crops
      // nothing. When k < stride both are short of input * stride and TF zero-fills the end: output_padding.
      const total = kernel.map((k, i) => (padding === 'same' ? Math.max(k - strides[i]!, 0) : 0));
      const before = total.map((t) => Math.floor(t / 2));
      const attributes: Record<string, AttributeValue> = {
        kernel_shape: kernel,
        strides,
        pads: [...before, ...total.map((t, i) => t - before[i]!)],
      };
      const outputPadding = kernel.map((k, i) => Math.max(strides[i]! - k, 0));
      if (outputPadding.some((p) => p > 0)) attributes['output_padding'] = outputPadding;
      const w = weightsOf(layer);
      // TF.js [kh, kw, cout, cin] -> ONNX ConvTranspose [cin, cout, kh, kw]. Both are the gradient of a conv
      // with respect to its input (no kernel flip in either), so only the layout changes.
      const conv = [single(), g.weight(`${name}/kernel`, w.get('kernel')!, [3, 2, 0, 1])];
      if (cfg.boolean('useBias')) conv.push(g.weight(`${name}/bias`, w.get('bias')!));
      g.convWithActivation(
        { op: 'ConvTranspose', name: `${name}/convt`, inputs: conv, attributes },
        cfg.string('activation'),
        cfg,
        name,
      );
      return;
    }
    case 'BatchNormalization': {
      const axis = cfg.number('axis');
      if (axis !== -1 && axis !== 3) cfg.fail(`axis ${axis}: only the channel axis is supported`);
      const w = weightsOf(layer);
      const channels = w.get('moving_mean')!.shape[0]!;
      // center/scale off means beta/gamma are absent: the identity values stand in for them.
      const gamma = w.get('gamma') ?? tf.ones([channels]);
      const beta = w.get('beta') ?? tf.zeros([channels]);
      g.add({
        op: 'BatchNormalization',
        name,
        inputs: [
          single(),
          g.weight(`${name}/gamma`, gamma),
          g.weight(`${name}/beta`, beta),
          g.weight(`${name}/moving_mean`, w.get('moving_mean')!),
          g.weight(`${name}/moving_variance`, w.get('moving_variance')!),
        ],
        outputs: [name],
        attributes: { epsilon: { float: cfg.number('epsilon') } },
      });
      return;
    }
    case 'Activation': {
      const op = activationOp(cfg.string('activation'), cfg) ?? 'Identity';
      g.add({ op, name, inputs: [single()], outputs: [name] });
      return;
    }
    case 'MaxPooling2D': {
      cfg.channelsLast();
      const padding = cfg.string('padding');
      const attributes: Record<string, AttributeValue> = {
        kernel_shape: cfg.pair('poolSize'),
        strides: cfg.pair('strides', cfg.pair('poolSize')),
      };
      if (padding === 'same') attributes['auto_pad'] = 'SAME_UPPER';
      else if (padding !== 'valid') cfg.fail(`padding '${padding}'`);
      g.add({ op: 'MaxPool', name, inputs: [single()], outputs: [name], attributes });
      return;
    }
    case 'UpSampling2D': {
      cfg.channelsLast();
      const [sh, sw] = cfg.pair('size');
      const interpolation = cfg.string('interpolation');
      // TF.js resizes with alignCorners=false, halfPixelCenters=false: source = floor(dest / scale) for nearest,
      // dest / scale for bilinear. That is ONNX's 'asymmetric' transform (with floor rounding for nearest).
      const attributes: Record<string, AttributeValue> =
        interpolation === 'nearest'
          ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
          : interpolation === 'bilinear'
            ? { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }
            : cfg.fail(`interpolation '${interpolation}'`);
      const scales = g.constant(`${name}/scales`, [1, 1, sh, sw]);
      g.add({ op: 'Resize', name, inputs: [single(), '', scales], outputs: [name], attributes });
      return;
    }
    case 'Concatenate': {
      if (inputs.length < 2) cfg.fail(`expected at least two inputs, got ${inputs.length}`);
      const axis = nchwAxis(cfg.number('axis'), cfg);
      // Input order as TF.js applied it ([skip, upsampled] in the U-Net): the next conv's weights depend on it.
      g.add({ op: 'Concat', name, inputs, outputs: [name], attributes: { axis } });
      return;
    }
    default:
      cfg.fail('layer class not supported by the ONNX exporter');
  }
}

/** The ONNX model bytes of a single-input, single-output TF.js layers model (NHWC image in, NHWC map out). */
export function exportOnnx(net: tf.LayersModel, options: OnnxExportOptions = {}): Uint8Array {
  if (net.inputLayers.length !== 1 || net.outputLayers.length !== 1) {
    throw new Error(
      `ONNX export: expected one input and one output, got ${net.inputLayers.length} and ${net.outputLayers.length}`,
    );
  }
  const g = new GraphBuilder();
  const h = options.height ?? 'H';
  const w = options.width ?? 'W';
  const n = options.batch ?? 1;
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`ONNX export: batch must be a positive integer (got ${n})`);
  let graphInput: Message | undefined;
  tf.tidy(() => {
    for (const layer of net.layers) {
      const cls = layer.getClassName();
      if (layer.inboundNodes.length !== 1) {
        throw new Error(
          `ONNX export: layer '${layer.name}' (${cls}) is applied ${layer.inboundNodes.length} times; shared layers are not supported`,
        );
      }
      const inbound = layer.inboundNodes[0]!;
      if (inbound.tensorIndices.some((i) => i !== 0) || inbound.nodeIndices.some((i) => i !== 0)) {
        throw new Error(`ONNX export: layer '${layer.name}' (${cls}) reads a multi-output layer`);
      }
      if (cls === 'InputLayer') {
        const shape = layer.outputShape as (number | null)[];
        const channels = shape[3];
        if (shape.length !== 4 || typeof channels !== 'number') {
          throw new Error(
            `ONNX export: input '${layer.name}' is not an NHWC image (${JSON.stringify(shape)})`,
          );
        }
        graphInput = floatValueInfo(layer.name, [n, channels, h, w]);
        continue;
      }
      exportLayer(
        g,
        layer,
        inbound.inboundLayers.map((l) => l.name),
      );
    }
  });
  const out = net.outputLayers[0]!;
  const outShape = out.outputShape as (number | null)[];
  const outChannels = outShape[3];
  if (outShape.length !== 4 || typeof outChannels !== 'number') {
    throw new Error(`ONNX export: output '${out.name}' is not an NHWC map (${JSON.stringify(outShape)})`);
  }
  return model(
    {
      name: net.name,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [graphInput!],
      outputs: [floatValueInfo(out.name, [n, outChannels, h, w])],
    },
    'quorum bench/peer onnx-export',
  );
}
