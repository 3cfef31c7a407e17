import { unzlibSync } from 'fflate';
import { QuorumInputError } from '../errors';
import { tiffPixelSize } from './calibration';
import { guardLibrary } from './guard';
import { checkPage } from './limits';
import { createRaster } from './raster';
import { openTiff, readTags } from './tiff-ifd';
import { lzwCodesAreSafe } from './tiff-lzw';
import { describePage, LAYOUT_TAGS, PHOTOMETRIC_WHITE_IS_ZERO, type TiffLayout } from './tiff-page';
import type { PixelData, RasterImage } from './types';
import { UTIF, type UtifDirectory } from './vendor';

/** Number of pages (directories in the main chain). Sub-IFDs such as EXIF or pyramid levels are not pages. */
export function countTiffPages(bytes: Uint8Array, subject: string): number {
  return openTiff(bytes, subject).pages.length;
}

/**
 * Decodes one page of a classic TIFF: 8/16-bit unsigned or 32-bit float samples, any byte order, strips or
 * tiles, uncompressed, LZW, Deflate (8 and 32946) or PackBits, predictor 1 or 2.
 *
 * The file structure is parsed and bounds-checked by tiff-ifd.ts / tiff-page.ts; utif2 only decompresses the
 * strips or tiles (LZW, after a check that it will not hang on them: tiff-lzw.ts; PackBits) and undoes the
 * predictor and 16-bit byte order. Its public `decodeImage` is not
 * used because it prints to the console for every tiled file (noise in CLI output and logs), and it needs a
 * directory object from its own unchecked parser. Deflate goes through fflate (see `inflateInto`).
 *
 * Palette images (photometric 3) decode to their index values, 1 channel: this is how ImageJ saves an intensity
 * image shown with a colour lookup table, and the indices are the measured intensities.
 * WhiteIsZero (photometric 0) integer images are inverted, so that larger always means brighter.
 */
export function decodeTiff(
  bytes: Uint8Array,
  subject: string,
  page: number | undefined,
  maxPixels: number,
): RasterImage {
  const data = ownBuffer(bytes);
  const tiff = openTiff(data, subject);
  const index = checkPage(page, tiff.pages.length, subject);
  const tags = readTags(tiff, tiff.pages[index]!, LAYOUT_TAGS, subject);
  const layout = describePage(tiff, tags, subject, maxPixels);
  const raw = guardLibrary(subject, 'TIFF', () => decompressSegments(data, tiff.littleEndian, layout));
  if (layout.bitDepth === 32 && !tiff.littleEndian) swapBytes32(raw);
  const samples = asSamples(raw, layout.bitDepth);
  if (samples instanceof Float32Array) checkFinite(samples, layout, subject);
  else if (layout.photometric === PHOTOMETRIC_WHITE_IS_ZERO) invert(samples);
  const raster = createRaster(layout.width, layout.height, layout.channels, samples, layout.alpha, subject);
  const pixelSize = tiffPixelSize(tiff, tiff.pages[index]!);
  return pixelSize === undefined ? raster : { ...raster, pixelSize };
}

/**
 * utif2's PackBits decoder addresses `data.buffer` from 0, so the bytes must start their own buffer. Copied with
 * `new Uint8Array(bytes)`, not `bytes.slice()`: on a Node Buffer (what readFileSync returns, often a view into a
 * shared pool) `slice` makes another view, not a copy.
 */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : new Uint8Array(bytes);
}

const NO_COMPRESSION = 1;
const LZW = 5;
const DEFLATE = 8;
const DEFLATE_OLD = 32946;

/** Decompresses every strip or tile into one interleaved, row-major byte buffer of the whole page. */
function decompressSegments(data: Uint8Array, littleEndian: boolean, layout: TiffLayout): Uint8Array {
  const { width, height, channels, bitDepth, segmentWidth, segmentHeight } = layout;
  const bytesPerPixel = (channels * bitDepth) / 8;
  const rowBytes = width * bytesPerPixel;
  const segmentRowBytes = segmentWidth * bytesPerPixel;
  const out = new Uint8Array(rowBytes * height);
  // Always the nominal segment size, even for a short last strip: some writers pad it to full height.
  const segment = new Uint8Array(segmentRowBytes * segmentHeight);
  const directory: UtifDirectory = {
    t258: [bitDepth],
    t277: [channels],
    t317: [layout.predictor],
    isLE: littleEndian,
  };
  for (const s of layout.segments) {
    segment.fill(0);
    if (layout.compression === DEFLATE || layout.compression === DEFLATE_OLD) {
      inflateInto(data.subarray(s.offset, s.offset + s.length), segment);
      // Now stored uncompressed in `segment` itself: utif2's "no compression" path copies it onto itself, then
      // undoes the predictor and the byte order in place.
      decompress(directory, segment, 0, segment.length, NO_COMPRESSION, segment, segmentWidth, segmentHeight);
    } else {
      if (layout.compression === LZW && !lzwCodesAreSafe(data, s.offset, s.length)) {
        // Thrown inside guardLibrary, which reports it as corrupt TIFF data with the file name.
        throw new Error(
          `invalid LZW code in ${layout.tiled ? 'tile' : 'strip'} ${layout.segments.indexOf(s)}`,
        );
      }
      decompress(
        directory,
        data,
        s.offset,
        s.length,
        layout.compression,
        segment,
        segmentWidth,
        segmentHeight,
      );
    }
    // Copy the part of the segment inside the image (tiles overhang the right and bottom edges).
    const copyBytes = Math.min(segmentWidth, width - s.x) * bytesPerPixel;
    const rows = Math.min(segmentHeight, height - s.y);
    for (let r = 0; r < rows; r++) {
      const from = r * segmentRowBytes;
      out.set(segment.subarray(from, from + copyBytes), (s.y + r) * rowBytes + s.x * bytesPerPixel);
    }
  }
  return out;
}

/** utif2's strip/tile decompressor, with the arguments Quorum never varies filled in. */
function decompress(
  directory: UtifDirectory,
  source: Uint8Array,
  offset: number,
  length: number,
  compression: number,
  target: Uint8Array,
  width: number,
  height: number,
): void {
  const fillOrder = 1; // bit order within bytes: only matters for 1-bit data, which is refused
  UTIF.decode._decompress(
    directory,
    [],
    source,
    offset,
    length,
    compression,
    target,
    0,
    fillOrder,
    width,
    height,
  );
}

/**
 * Deflate through fflate rather than utif2: utif2 finds pako with `typeof require === "function"`, which some
 * browser bundlers (Vite 8 / rolldown) leave as is, so in a page or worker it would look for a global `pako`
 * and fail on every Deflate TIFF. fflate is ESM and already in the bundle (fast-png uses it). Output beyond the
 * segment is cut off (fflate's `out` semantics); a short or broken stream throws, and is reported as corrupt.
 */
function inflateInto(zlibStream: Uint8Array, segment: Uint8Array): void {
  unzlibSync(zlibStream, { out: segment });
}

/** utif2 swaps 16-bit big-endian samples itself, but not 32-bit ones. */
function swapBytes32(b: Uint8Array): void {
  for (let i = 0; i + 3 < b.length; i += 4) {
    const [b0, b1] = [b[i]!, b[i + 1]!];
    b[i] = b[i + 3]!;
    b[i + 1] = b[i + 2]!;
    b[i + 2] = b1;
    b[i + 3] = b0;
  }
}

/**
 * Views the little-endian bytes as samples. Typed arrays use the host's byte order; every platform Quorum
 * runs on (x86, ARM in its usual mode, WebAssembly hosts) is little-endian.
 */
function asSamples(raw: Uint8Array, bitDepth: 8 | 16 | 32): PixelData {
  if (bitDepth === 8) return raw;
  if (bitDepth === 16) return new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
}

/** NaN or infinity would poison normalization statistics downstream; refuse them at the door. */
function checkFinite(samples: Float32Array, layout: TiffLayout, subject: string): void {
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    if (!Number.isFinite(v)) {
      const pixel = Math.floor(i / layout.channels);
      const x = pixel % layout.width;
      const y = Math.floor(pixel / layout.width);
      throw new QuorumInputError('invalid-value', subject, `float TIFF holds ${v} at pixel (x ${x}, y ${y})`);
    }
  }
}

function invert(samples: Uint8Array | Uint16Array): void {
  const max = samples instanceof Uint16Array ? 0xffff : 0xff;
  for (let i = 0; i < samples.length; i++) samples[i] = max - samples[i]!;
}
