import { encode } from 'fast-png';
import { QuorumInputError } from '../errors';
import { createRaster, sampleTypeOf } from './raster';

/**
 * Encodes interleaved samples as a PNG (fast-png, zlib compression): 8-bit from a `Uint8Array`, 16-bit from a
 * `Uint16Array`. `channels` 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA: PNG has no other layouts.
 */
export function encodePng(
  data: Uint8Array | Uint16Array,
  width: number,
  height: number,
  channels = 1,
): Uint8Array {
  const type = sampleTypeOf(data);
  if (type !== 'uint8' && type !== 'uint16') {
    throw new QuorumInputError('invalid-value', 'image', 'PNG samples must be a Uint8Array or a Uint16Array');
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) {
    throw new QuorumInputError('unsupported', 'image', `PNG holds 1 to 4 channels, got ${channels}`);
  }
  createRaster(width, height, channels, data); // validates size and length
  return encode({ width, height, data, depth: type === 'uint16' ? 16 : 8, channels });
}
