import { QuorumInputError } from '../errors';
import type { PixelData, RasterImage } from './types';

/** The three sample arrays a `RasterImage` may hold, by their element type. */
export type SampleType = 'uint8' | 'uint16' | 'float32';

const SAMPLE_TYPES: Readonly<Record<string, SampleType>> = {
  '[object Uint8Array]': 'uint8',
  '[object Uint16Array]': 'uint16',
  '[object Float32Array]': 'float32',
};

/**
 * Which sample array `data` is, or undefined for anything else (Int16Array, Uint8ClampedArray, plain arrays).
 * Decided by the typed array's built-in tag, not `instanceof`, because `instanceof` fails for arrays made in
 * another JavaScript realm: an iframe, a vm context, or a jsdom/happy-dom test environment.
 */
export function sampleTypeOf(data: unknown): SampleType | undefined {
  return SAMPLE_TYPES[Object.prototype.toString.call(data)];
}

/**
 * Builds a `RasterImage` from a typed array, deriving `bitDepth` and `sampleFormat` from the array type so the
 * two can never disagree, and checking that the length matches the dimensions.
 */
export function createRaster(
  width: number,
  height: number,
  channels: number,
  data: PixelData,
  alpha = false,
  subject = 'image',
): RasterImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new QuorumInputError(
      'invalid-value',
      subject,
      `image size must be positive integers, got ${width} x ${height}`,
    );
  }
  if (!Number.isInteger(channels) || channels < 1) {
    throw new QuorumInputError(
      'invalid-value',
      subject,
      `channels must be a positive integer, got ${channels}`,
    );
  }
  const type = sampleTypeOf(data);
  if (type === undefined) {
    throw new QuorumInputError(
      'invalid-value',
      subject,
      'samples must be a Uint8Array, Uint16Array or Float32Array',
    );
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new QuorumInputError(
      'mismatch',
      subject,
      `pixel data has ${data.length} samples, expected ${width} x ${height} x ${channels} = ${expected}`,
    );
  }
  const base = { width, height, channels, data, ...(alpha && channels > 1 ? { alpha: true } : {}) };
  if (type === 'float32') return { ...base, bitDepth: 32, sampleFormat: 'float' };
  return { ...base, bitDepth: type === 'uint16' ? 16 : 8, sampleFormat: 'uint' };
}

/** An empty typed array of the kind that holds `image`'s samples. */
export function allocateLike(image: RasterImage, length: number): PixelData {
  if (image.bitDepth === 32) return new Float32Array(length);
  if (image.bitDepth === 16) return new Uint16Array(length);
  return new Uint8Array(length);
}

/**
 * The raw samples of a 1-channel image as float32, without scaling (a 16-bit 40000 stays 40000.0), as the
 * input of normalization. Always a fresh array, so the caller may modify it.
 */
export function imageToFloat(image: RasterImage): Float32Array {
  if (image.channels !== 1) {
    throw new QuorumInputError(
      'invalid-value',
      'image',
      `imageToFloat needs a 1-channel image, got ${image.channels} channels (use toSingleChannel first)`,
    );
  }
  const out = new Float32Array(image.data.length);
  out.set(image.data); // converts element by element, exactly (every uint16 is a float32)
  return out;
}
