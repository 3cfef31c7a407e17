import { QuorumInputError } from '../errors';
import type { WeightDtype } from '../manifest/schema';
import { float32ToFloat16Bits } from './float16';

/**
 * Weight quantization in TF.js's own weights-manifest format, so `tf.loadLayersModel` dequantizes on load and the
 * browser needs no custom decoder: uint8 is affine per tensor (`value = q * scale + min`), float16 is IEEE half.
 */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
  quantization?: {
    dtype: 'uint8' | 'uint16' | 'float16';
    scale?: number;
    min?: number;
    original_dtype?: string;
  };
}

/**
 * Tensors smaller than this stay float32: biases and BatchNorm statistics are a negligible share of the bytes,
 * and an affine uint8 code over a BatchNorm variance vector would lose its small values.
 */
export const MIN_QUANTIZED_ELEMENTS = 256;

export interface QuantizedWeights {
  specs: WeightSpec[];
  data: Uint8Array;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function quantizeUint8(values: Float32Array): { bytes: Uint8Array; scale: number; min: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = max > min ? (max - min) / 255 : 1;
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = Math.round((values[i]! - min) / scale);
  return { bytes, scale, min };
}

/** Re-encode float32 weights (specs + concatenated little-endian data, as TF.js saves them) to `dtype`. */
export function quantizeWeights(
  specs: readonly WeightSpec[],
  data: ArrayBuffer | Uint8Array,
  dtype: WeightDtype,
): QuantizedWeights {
  const src = data instanceof Uint8Array ? data : new Uint8Array(data);
  const chunks: Uint8Array[] = [];
  const outSpecs: WeightSpec[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization)
      throw new QuorumInputError('invalid-value', `weights.${spec.name}`, 'is already quantized');
    const n = size(spec.shape);
    const bytes = n * 4;
    if (offset + bytes > src.byteLength) {
      throw new QuorumInputError(
        'truncated',
        'weights',
        `data ends before tensor ${spec.name} (${src.byteLength} bytes)`,
      );
    }
    const raw = src.slice(offset, offset + bytes);
    offset += bytes;
    if (spec.dtype !== 'float32' || dtype === 'float32' || n < MIN_QUANTIZED_ELEMENTS) {
      chunks.push(raw);
      outSpecs.push({ ...spec });
      continue;
    }
    const values = new Float32Array(raw.buffer, raw.byteOffset, n);
    if (dtype === 'float16') {
      const half = new Uint16Array(n);
      for (let i = 0; i < n; i++) half[i] = float32ToFloat16Bits(values[i]!);
      chunks.push(new Uint8Array(half.buffer));
      outSpecs.push({ ...spec, quantization: { dtype: 'float16' } });
    } else {
      const { bytes: q, scale, min } = quantizeUint8(values);
      chunks.push(q);
      outSpecs.push({ ...spec, quantization: { dtype: 'uint8', scale, min } });
    }
  }
  if (offset !== src.byteLength) {
    throw new QuorumInputError(
      'mismatch',
      'weights',
      `${src.byteLength - offset} bytes left after the last tensor`,
    );
  }
  return { specs: outSpecs, data: concat(chunks) };
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** Largest absolute dequantization error a tensor can have: half a step for uint8, relative 2^-11 for float16. */
export function quantizationErrorBound(spec: WeightSpec, maxAbs: number): number {
  const q = spec.quantization;
  if (!q) return 0;
  if (q.dtype === 'uint8') return (q.scale ?? 0) / 2 + 1e-7 * maxAbs;
  return maxAbs * 2 ** -11 + 2 ** -25;
}
