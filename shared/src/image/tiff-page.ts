import { QuorumInputError } from '../errors';
import { checkDimensions, MAX_CHANNELS } from './limits';
import type { TiffFile, TiffTags } from './tiff-ifd';
import type { BitDepth, SampleFormat } from './types';

/** Baseline and extension tags that decide how a page's pixels are stored. */
export const TAG = {
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  PlanarConfiguration: 284,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  ExtraSamples: 338,
  SampleFormat: 339,
} as const;

export const LAYOUT_TAGS: ReadonlySet<number> = new Set(Object.values(TAG));

/** Compression codes that utif2 decodes and that this module has tests for. */
const SUPPORTED_COMPRESSION: Readonly<Record<number, string>> = {
  1: 'none',
  5: 'LZW',
  8: 'Deflate',
  32946: 'Deflate',
  32773: 'PackBits',
};

/** Names for the codes users are likely to meet, so the error says more than a number. */
const KNOWN_COMPRESSION: Readonly<Record<number, string>> = {
  2: 'CCITT RLE',
  3: 'CCITT Group 3',
  4: 'CCITT Group 4',
  6: 'old-style JPEG',
  7: 'JPEG',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34925: 'LZMA',
  50000: 'Zstandard',
  50001: 'WebP',
  50002: 'JPEG XL',
};

const PHOTOMETRIC_NAMES: Readonly<Record<number, string>> = {
  4: 'transparency mask',
  5: 'CMYK',
  6: 'YCbCr',
  8: 'CIE L*a*b*',
  32844: 'LogL',
  32845: 'LogLuv',
};

export const PHOTOMETRIC_WHITE_IS_ZERO = 0;
const PHOTOMETRIC_BLACK_IS_ZERO = 1;
const PHOTOMETRIC_RGB = 2;
const PHOTOMETRIC_PALETTE = 3;

/** One strip or tile: its compressed bytes, and where its top-left pixel lands in the image. */
export interface TiffSegment {
  readonly offset: number;
  readonly length: number;
  readonly x: number;
  readonly y: number;
}

/** Everything needed to decode one page, validated. */
export interface TiffLayout {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly bitDepth: BitDepth;
  readonly sampleFormat: SampleFormat;
  readonly compression: number;
  /** 1 none, 2 horizontal differencing (8/16-bit only). */
  readonly predictor: 1 | 2;
  readonly photometric: number;
  readonly alpha: boolean;
  /** Tiles (TileWidth present) or strips. */
  readonly tiled: boolean;
  /** Nominal size of every strip or tile in pixels (the last strip may hold fewer rows in the file). */
  readonly segmentWidth: number;
  readonly segmentHeight: number;
  readonly segments: readonly TiffSegment[];
}

function one(tags: TiffTags, tag: number, fallback?: number): number | undefined {
  const v = tags.get(tag);
  return v !== undefined && v.length > 0 ? v[0] : fallback;
}

function allSame(values: readonly number[]): boolean {
  return values.every((v) => v === values[0]);
}

/** Reads and validates the storage layout of one page; throws naming the first thing Quorum cannot decode. */
export function describePage(tiff: TiffFile, tags: TiffTags, subject: string, maxPixels: number): TiffLayout {
  const bad = (detail: string) => new QuorumInputError('invalid-value', subject, `corrupt TIFF: ${detail}`);
  const unsupported = (detail: string) => new QuorumInputError('unsupported', subject, `TIFF ${detail}`);

  const width = one(tags, TAG.ImageWidth);
  const height = one(tags, TAG.ImageLength);
  if (width === undefined || height === undefined) throw bad('no ImageWidth or ImageLength tag');
  checkDimensions(width, height, maxPixels, subject, 'TIFF');

  const channels = one(tags, TAG.SamplesPerPixel, 1)!;
  if (channels < 1) throw bad('SamplesPerPixel is 0');
  if (channels > MAX_CHANNELS)
    throw unsupported(`with ${channels} samples per pixel (at most ${MAX_CHANNELS})`);

  const bitsList = tags.get(TAG.BitsPerSample) ?? [1];
  const formatList = tags.get(TAG.SampleFormat) ?? [1];
  if (!allSame(bitsList)) throw unsupported(`with mixed bits per sample (${bitsList.join(', ')})`);
  if (!allSame(formatList)) throw unsupported(`with mixed sample formats (${formatList.join(', ')})`);
  const bits = bitsList[0]!;
  const format = formatList[0]!;
  let bitDepth: BitDepth;
  let sampleFormat: SampleFormat;
  if (format === 1 && (bits === 8 || bits === 16)) {
    [bitDepth, sampleFormat] = [bits, 'uint'];
  } else if (format === 3 && bits === 32) {
    [bitDepth, sampleFormat] = [32, 'float'];
  } else {
    const kind =
      format === 1 ? 'unsigned' : format === 2 ? 'signed integer' : format === 3 ? 'float' : 'untyped';
    throw unsupported(
      `with ${bits}-bit ${kind} samples is not supported (8/16-bit unsigned or 32-bit float only)`,
    );
  }

  const compression = one(tags, TAG.Compression, 1)!;
  if (SUPPORTED_COMPRESSION[compression] === undefined) {
    const name = KNOWN_COMPRESSION[compression];
    throw unsupported(
      `compression ${compression}${name ? ` (${name})` : ''} is not supported (none, LZW, Deflate, PackBits only)`,
    );
  }

  const predictor = one(tags, TAG.Predictor, 1)!;
  if (predictor !== 1 && !(predictor === 2 && bitDepth !== 32)) {
    const name =
      predictor === 3 ? ' (floating point)' : predictor === 2 ? ' (horizontal, on float samples)' : '';
    throw unsupported(`predictor ${predictor}${name} is not supported`);
  }

  if (channels > 1 && one(tags, TAG.PlanarConfiguration, 1) === 2) {
    throw unsupported('with separate colour planes (PlanarConfiguration 2) is not supported');
  }

  const photometric = one(tags, TAG.Photometric, PHOTOMETRIC_BLACK_IS_ZERO)!;
  const greyLike =
    photometric === PHOTOMETRIC_WHITE_IS_ZERO ||
    photometric === PHOTOMETRIC_BLACK_IS_ZERO ||
    photometric === PHOTOMETRIC_PALETTE;
  if (!greyLike && !(photometric === PHOTOMETRIC_RGB && channels >= 3)) {
    const name = PHOTOMETRIC_NAMES[photometric];
    throw unsupported(
      `photometric interpretation ${photometric}${name ? ` (${name})` : ''} is not supported`,
    );
  }

  const extra = tags.get(TAG.ExtraSamples) ?? [];
  const lastExtra = extra[extra.length - 1];
  const alpha = channels > 1 && (lastExtra === 1 || lastExtra === 2);

  const layout = {
    width,
    height,
    channels,
    bitDepth,
    sampleFormat,
    compression,
    predictor: predictor as 1 | 2,
    photometric,
    alpha,
  };
  const bytesPerPixel = (channels * bitDepth) / 8;
  return { ...layout, ...describeSegments(tiff, tags, layout, bytesPerPixel, maxPixels, subject) };
}

function describeSegments(
  tiff: TiffFile,
  tags: TiffTags,
  page: { width: number; height: number; compression: number },
  bytesPerPixel: number,
  maxPixels: number,
  subject: string,
): Pick<TiffLayout, 'tiled' | 'segmentWidth' | 'segmentHeight' | 'segments'> {
  const bad = (detail: string) => new QuorumInputError('invalid-value', subject, `corrupt TIFF: ${detail}`);
  const { width, height } = page;
  const tiled = tags.has(TAG.TileWidth);
  const segmentWidth = tiled ? one(tags, TAG.TileWidth, 0)! : width;
  const segmentHeight = tiled
    ? one(tags, TAG.TileLength, 0)!
    : Math.min(one(tags, TAG.RowsPerStrip, height)!, height);
  if (segmentWidth < 1 || segmentHeight < 1)
    throw bad(`${tiled ? 'tile' : 'strip'} size ${segmentWidth} x ${segmentHeight}`);
  if (segmentWidth * segmentHeight > maxPixels) {
    throw new QuorumInputError(
      'too-large',
      subject,
      `TIFF tile of ${segmentWidth} x ${segmentHeight} pixels`,
    );
  }
  const across = Math.ceil(width / segmentWidth);
  const down = Math.ceil(height / segmentHeight);
  const offsets = tags.get(tiled ? TAG.TileOffsets : TAG.StripOffsets);
  const counts = tags.get(tiled ? TAG.TileByteCounts : TAG.StripByteCounts);
  const what = tiled ? 'tile' : 'strip';
  if (offsets === undefined) throw bad(`no ${what} offsets`);
  if (offsets.length !== across * down)
    throw bad(`${offsets.length} ${what} offsets, expected ${across * down}`);
  const uncompressed = page.compression === 1;
  if (counts === undefined && !uncompressed) throw bad(`no ${what} byte counts`);
  if (counts !== undefined && counts.length !== offsets.length) {
    throw bad(`${counts.length} ${what} byte counts for ${offsets.length} ${what}s`);
  }

  const fileLength = tiff.bytes.length;
  const segments = offsets.map((offset, i): TiffSegment => {
    const x = (i % across) * segmentWidth;
    const y = Math.floor(i / across) * segmentHeight;
    // Uncompressed data is read by its known size (declared byte counts are sometimes wrong); the last strip
    // of a page only holds the rows that remain.
    const rows = tiled ? segmentHeight : Math.min(segmentHeight, height - y);
    const length = uncompressed ? rows * segmentWidth * bytesPerPixel : counts![i]!;
    if (offset + length > fileLength) {
      throw new QuorumInputError('truncated', subject, `TIFF ends inside ${what} ${i} of ${offsets.length}`);
    }
    return { offset, length, x, y };
  });
  return { tiled, segmentWidth, segmentHeight, segments };
}
