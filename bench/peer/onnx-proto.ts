import { Message } from './protobuf';

/**
 * ONNX messages (onnx.proto, IR version 8) as plain builders over the protobuf encoder: only the fields a
 * float32 convolutional graph needs. Field numbers are onnx.proto's; they never change across IR versions.
 */

/** TensorProto.DataType.FLOAT. */
const FLOAT = 1;

enum AttributeType {
  FLOAT = 1,
  INT = 2,
  STRING = 3,
  FLOATS = 6,
  INTS = 7,
}

export type AttributeValue = number | string | readonly number[] | { float: number };

/**
 * One attribute. Plain numbers are INT and arrays INTS (every attribute the exporter writes is an integer except
 * epsilon, which is passed as `{ float }`).
 */
function attribute(name: string, value: AttributeValue): Message {
  const m = new Message().string(1, name);
  if (typeof value === 'number') return m.int(3, value).int(20, AttributeType.INT);
  if (typeof value === 'string') return m.string(4, value).int(20, AttributeType.STRING);
  if ('float' in value) return m.float(2, value.float).int(20, AttributeType.FLOAT);
  return m.ints(8, value).int(20, AttributeType.INTS);
}

export interface NodeSpec {
  op: string;
  name: string;
  /** Tensor names; '' marks an omitted optional input. */
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Readonly<Record<string, AttributeValue>>;
}

export function node(spec: NodeSpec): Message {
  const m = new Message().strings(1, spec.inputs).strings(2, spec.outputs).string(3, spec.name);
  m.string(4, spec.op);
  for (const [name, value] of Object.entries(spec.attributes ?? {})) m.message(5, attribute(name, value));
  return m;
}

/** A float32 initializer; raw_data is little-endian, which is what a Float32Array is on every JS platform we run. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): Message {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`initializer ${name}: shape [${dims}] needs ${count} values, got ${data.length}`);
  }
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Message().ints(1, dims).int(2, FLOAT).string(8, name).bytes(9, raw);
}

/** A float32 graph input or output; a string dimension is symbolic (dim_param), a number fixed (dim_value). */
export function floatValueInfo(name: string, dims: readonly (number | string)[]): Message {
  const shape = new Message();
  for (const d of dims) {
    shape.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  }
  const tensorType = new Message().int(1, FLOAT).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

export interface GraphSpec {
  name: string;
  nodes: readonly Message[];
  initializers: readonly Message[];
  inputs: readonly Message[];
  outputs: readonly Message[];
}

/** ModelProto with one graph, default-domain opset 17. */
export function model(graph: GraphSpec, producer: string): Uint8Array {
  const g = new Message()
    .messages(1, graph.nodes)
    .string(2, graph.name)
    .messages(5, graph.initializers)
    .messages(11, graph.inputs)
    .messages(12, graph.outputs);
  return new Message()
    .int(1, 8) // ir_version
    .string(2, producer) // producer_name
    .message(7, g)
    .message(8, new Message().string(1, '').int(2, 17)) // opset_import
    .finish();
}
