import { convertIndexedToRgb, decode } from 'fast-png';
import { QuorumInputError } from '../errors';
import { guardLibrary } from './guard';
import { checkDimensions } from './limits';
import { createRaster } from './raster';
import type { RasterImage } from './types';

const SIGNATURE_LENGTH = 8;
const COLOR_TYPE_PALETTE = 3;

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function chunkType(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/**
 * Walks the chunk list without inflating anything: reads IHDR, and proves the file is complete (every chunk
 * inside the file, IEND present). fast-png itself decodes a truncated IDAT into a silently zero-padded image,
 * so truncation has to be caught here to be reported as such.
 */
function scanChunks(bytes: Uint8Array, subject: string): PngHeader {
  const ihdrEnd = SIGNATURE_LENGTH + 8 + 13 + 4;
  if (bytes.length < ihdrEnd) throw new QuorumInputError('truncated', subject, 'PNG ends inside its header');
  if (chunkType(bytes, SIGNATURE_LENGTH + 4) !== 'IHDR' || u32(bytes, SIGNATURE_LENGTH) !== 13) {
    throw new QuorumInputError('invalid-value', subject, 'corrupt PNG: the first chunk is not a valid IHDR');
  }
  const header: PngHeader = {
    width: u32(bytes, 16),
    height: u32(bytes, 20),
    depth: bytes[24]!,
    colorType: bytes[25]!,
  };
  let at = SIGNATURE_LENGTH;
  let sawData = false;
  for (;;) {
    if (at + 8 > bytes.length) {
      throw new QuorumInputError('truncated', subject, 'PNG ends before its IEND chunk');
    }
    const length = u32(bytes, at);
    const type = chunkType(bytes, at + 4);
    if (length > 0x7fffffff) {
      throw new QuorumInputError(
        'invalid-value',
        subject,
        `corrupt PNG: chunk length ${length} at offset ${at}`,
      );
    }
    const end = at + 12 + length;
    if (end > bytes.length) {
      throw new QuorumInputError('truncated', subject, `PNG ends inside its ${JSON.stringify(type)} chunk`);
    }
    if (type === 'IDAT') sawData = true;
    if (type === 'IEND') break;
    at = end;
  }
  if (!sawData) throw new QuorumInputError('invalid-value', subject, 'corrupt PNG: no IDAT chunk');
  return header;
}

/** Unpacks 1-, 2- or 4-bit grey samples (rows padded to whole bytes) to one byte each, values unscaled. */
function unpackLowDepth(packed: ArrayLike<number>, width: number, height: number, depth: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)]!;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/**
 * Decodes a PNG with fast-png: 8- and 16-bit grey, grey+alpha, RGB and RGBA as stored; palette images expanded
 * to RGB (RGBA when the palette has transparency); 1/2/4-bit grey unpacked to one byte per sample with the
 * stored values (a 1-bit mask reads 0/1, not 0/255, so label values survive).
 */
export function decodePng(bytes: Uint8Array, subject: string, maxPixels: number): RasterImage {
  const header = scanChunks(bytes, subject);
  checkDimensions(header.width, header.height, maxPixels, subject, 'PNG');
  return guardLibrary(subject, 'PNG', () => {
    const png = decode(bytes, { checkCrc: true });
    const { width, height } = png;
    if (png.palette !== undefined || header.colorType === COLOR_TYPE_PALETTE) {
      const rgb = convertIndexedToRgb(png);
      const channels = rgb.length / (width * height);
      return createRaster(width, height, channels, rgb, channels === 4, subject);
    }
    const alpha = png.channels === 2 || png.channels === 4;
    if (png.depth === 16) {
      const data = png.data instanceof Uint16Array ? png.data : Uint16Array.from(png.data);
      return createRaster(width, height, png.channels, data, alpha, subject);
    }
    if (png.depth < 8) {
      return createRaster(
        width,
        height,
        1,
        unpackLowDepth(png.data, width, height, png.depth),
        false,
        subject,
      );
    }
    const data = png.data instanceof Uint8Array ? png.data : new Uint8Array(png.data);
    return createRaster(width, height, png.channels, data, alpha, subject);
  });
}
