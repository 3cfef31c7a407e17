import { QuorumInputError } from '../errors';
import { guardLibrary } from './guard';
import { checkDimensions } from './limits';
import { createRaster } from './raster';
import type { RasterImage } from './types';
import { decodeJpeg as jpegJsDecode } from './vendor';

/** Frame types jpeg-js decodes: baseline (SOF0), extended sequential (SOF1) and progressive (SOF2) Huffman. */
const DECODABLE_FRAMES = new Set([0xc0, 0xc1, 0xc2]);

const FRAME_NAMES: Readonly<Record<number, string>> = {
  195: 'lossless',
  197: 'hierarchical',
  198: 'hierarchical progressive',
  199: 'hierarchical lossless',
  201: 'arithmetic-coded',
  202: 'arithmetic-coded progressive',
  203: 'arithmetic-coded lossless',
  205: 'hierarchical arithmetic-coded',
  206: 'hierarchical arithmetic-coded progressive',
  207: 'hierarchical arithmetic-coded lossless',
};

interface JpegFrame {
  width: number;
  height: number;
  components: number;
}

function isFrameMarker(marker: number): boolean {
  // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Walks the marker segments up to the first scan, reading the frame header, so that size, precision and
 * coding process are checked before jpeg-js allocates anything, and a cut-off file (no end-of-image marker after
 * the scan data) is reported as truncated: jpeg-js, being tolerant, would return a partly grey image instead.
 */
function scanMarkers(bytes: Uint8Array, subject: string): JpegFrame {
  const truncated = (where: string) => new QuorumInputError('truncated', subject, `JPEG ends ${where}`);
  let frame: JpegFrame | undefined;
  let at = 2; // after SOI
  for (;;) {
    if (at >= bytes.length) throw truncated('before its image data');
    if (bytes[at] !== 0xff) {
      throw new QuorumInputError('invalid-value', subject, `corrupt JPEG: no marker at offset ${at}`);
    }
    while (at < bytes.length && bytes[at] === 0xff) at++; // fill bytes
    if (at >= bytes.length) throw truncated('before its image data');
    const marker = bytes[at++]!;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // standalone markers
    if (marker === 0xd8 || marker === 0xd9) {
      throw new QuorumInputError(
        'invalid-value',
        subject,
        'corrupt JPEG: no image data before the end marker',
      );
    }
    if (at + 2 > bytes.length) throw truncated('inside a marker segment');
    const length = (bytes[at]! << 8) | bytes[at + 1]!;
    const end = at + length;
    if (length < 2)
      throw new QuorumInputError('invalid-value', subject, `corrupt JPEG: segment length ${length}`);
    if (end > bytes.length) throw truncated('inside a marker segment');
    if (isFrameMarker(marker)) {
      if (!DECODABLE_FRAMES.has(marker)) {
        const kind = FRAME_NAMES[marker] ?? 'unknown';
        const code = `SOF${marker - 0xc0}`;
        throw new QuorumInputError('unsupported', subject, `${kind} JPEG (${code}) is not supported`);
      }
      if (length < 8) throw truncated('inside its frame header');
      const precision = bytes[at + 2]!;
      if (precision !== 8) {
        throw new QuorumInputError(
          'unsupported',
          subject,
          `${precision}-bit JPEG is not supported (8-bit only)`,
        );
      }
      frame = {
        height: (bytes[at + 3]! << 8) | bytes[at + 4]!,
        width: (bytes[at + 5]! << 8) | bytes[at + 6]!,
        components: bytes[at + 7]!,
      };
    }
    if (marker === 0xda) {
      if (frame === undefined) {
        throw new QuorumInputError('invalid-value', subject, 'corrupt JPEG: scan before the frame header');
      }
      if (!hasEndMarker(bytes, end)) throw truncated('before its end-of-image marker');
      return frame;
    }
    at = end;
  }
}

/** In entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so FF D9 can only be EOI. */
function hasEndMarker(bytes: Uint8Array, from: number): boolean {
  for (let i = bytes.length - 2; i >= from; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}

/**
 * Decodes an 8-bit JPEG with jpeg-js (pure JS, no Node Buffer: `useTArray`). Grey JPEGs give 1 channel,
 * YCbCr ones 3 (RGB). CMYK and 2-component files are refused.
 */
export function decodeJpeg(bytes: Uint8Array, subject: string, maxPixels: number): RasterImage {
  const frame = scanMarkers(bytes, subject);
  checkDimensions(frame.width, frame.height, maxPixels, subject, 'JPEG');
  if (frame.components !== 1 && frame.components !== 3) {
    throw new QuorumInputError(
      'unsupported',
      subject,
      `JPEG with ${frame.components} colour components is not supported (grey or RGB only)`,
    );
  }
  const pixels = frame.width * frame.height;
  // jpeg-js keeps one Int32 per coefficient (4 bytes a sample) plus the output; 2x covers MCU padding.
  const memoryMB = Math.ceil((pixels * (frame.components * 5 + 3) * 2) / 2 ** 20) + 16;
  const decoded = guardLibrary(subject, 'JPEG', () =>
    jpegJsDecode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: (maxPixels + 1) / 1e6, // a backstop only: the frame size was checked above
      maxMemoryUsageInMB: memoryMB,
    }),
  );
  const { width, height, data } = decoded;
  if (frame.components === 3) return createRaster(width, height, 3, data, false, subject);
  // jpeg-js replicates grey into R, G and B; keep one.
  const grey = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) grey[i] = data[i * 3]!;
  return createRaster(width, height, 1, grey, false, subject);
}
