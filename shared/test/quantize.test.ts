import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  float16BitsToFloat32,
  float32ToFloat16Bits,
  MIN_QUANTIZED_ELEMENTS,
  quantizationErrorBound,
  quantizeWeights,
  type WeightSpec,
} from '../src/quantize';

/** Dequantize exactly as tfjs-core's io.decodeWeights does. */
function dequantize(spec: WeightSpec, bytes: Uint8Array): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  if (!q) return new Float32Array(bytes.slice(0, n * 4).buffer);
  if (q.dtype === 'uint8') return Float32Array.from(bytes.subarray(0, n), (v) => v * q.scale! + q.min!);
  const half = new Uint16Array(bytes.slice(0, n * 2).buffer);
  return Float32Array.from(half, float16BitsToFloat32);
}

describe('float16', () => {
  it('encodes known values exactly', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(0)).toBe(0);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round-trips every half value and is within half an ulp for any float in range', () => {
    for (let h = 0; h < 0x7c00; h++) expect(float32ToFloat16Bits(float16BitsToFloat32(h))).toBe(h);
    fc.assert(
      fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (v) => {
        const back = float16BitsToFloat32(float32ToFloat16Bits(v));
        expect(Math.abs(back - v)).toBeLessThanOrEqual(Math.max(Math.abs(v) * 2 ** -11, 2 ** -25));
      }),
    );
  });
});

describe('weight quantization', () => {
  const tensor = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

  it.each(['uint8', 'float16'] as const)('keeps every tensor within its error bound (%s)', (dtype) => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }), {
          minLength: MIN_QUANTIZED_ELEMENTS,
          maxLength: 600,
        }),
        (values) => {
          const spec: WeightSpec = { name: 'k', shape: [values.length], dtype: 'float32' };
          const { specs, data } = quantizeWeights([spec], tensor(values), dtype);
          expect(specs[0]!.quantization?.dtype).toBe(dtype);
          const back = dequantize(specs[0]!, data);
          const maxAbs = Math.max(...values.map(Math.abs));
          const bound = quantizationErrorBound(specs[0]!, maxAbs);
          for (const [i, v] of values.entries())
            expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(bound + 1e-6);
          expect(data.byteLength).toBe(values.length * (dtype === 'uint8' ? 1 : 2));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('keeps small tensors (biases, BatchNorm statistics) in float32 and preserves order', () => {
    const big = Array.from({ length: 300 }, (_, i) => Math.sin(i));
    const specs: WeightSpec[] = [
      { name: 'bias', shape: [3], dtype: 'float32' },
      { name: 'kernel', shape: [3, 100], dtype: 'float32' },
    ];
    const data = new Uint8Array([...tensor([0.001, 2, -3]), ...tensor(big)]);
    const q = quantizeWeights(specs, data, 'uint8');
    expect(q.specs[0]!.quantization).toBeUndefined();
    expect(Array.from(dequantize(q.specs[0]!, q.data))).toEqual(
      Array.from(Float32Array.from([0.001, 2, -3])),
    );
    expect(q.data.byteLength).toBe(12 + 300);
    const k = dequantize(q.specs[1]!, q.data.subarray(12));
    expect(Math.max(...big.map((v, i) => Math.abs(v - k[i]!)))).toBeLessThanOrEqual(2 / 255 / 2 + 1e-6);
  });

  it('maps a constant tensor exactly and rejects truncated or oversized data', () => {
    const spec: WeightSpec = { name: 'c', shape: [MIN_QUANTIZED_ELEMENTS], dtype: 'float32' };
    const q = quantizeWeights([spec], tensor(new Array(MIN_QUANTIZED_ELEMENTS).fill(0.3)), 'uint8');
    expect(dequantize(q.specs[0]!, q.data).every((v) => Math.abs(v - 0.3) < 1e-7)).toBe(true);
    expect(() => quantizeWeights([spec], new Uint8Array(10), 'uint8')).toThrow(
      /weights: data ends before tensor c/,
    );
    expect(() => quantizeWeights([spec], new Uint8Array(MIN_QUANTIZED_ELEMENTS * 4 + 4), 'uint8')).toThrow(
      /4 bytes left/,
    );
  });
});
