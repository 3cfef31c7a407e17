import {
  channelsIdentical,
  countPages,
  createRaster,
  DEFAULT_MAX_PIXELS,
  decodeImage,
  type PixelSize,
  QuorumInputError,
  type RasterImage,
  toSingleChannel,
} from '@quorum/shared';
import type { SegmentInput, SegmentOptions } from './types';

/**
 * Browsers hold the image, every full-size intermediate map and the outputs at once (about 60 bytes per pixel),
 * so the engine refuses more than this by default: 4096 x 4096. Callers may raise it.
 */
export const ENGINE_MAX_PIXELS = 4096 * 4096;

export interface DecodedInput {
  image: RasterImage;
  page: number;
  pages: number;
  /** The caller's pixel size, else the file's; absent when neither gives one. */
  pixelSize?: PixelSize;
  /** The decoded file itself when its channels differ (not greyscale saved as RGB), to measure each per object. */
  multichannel?: RasterImage;
}

/**
 * Bytes of a PNG/JPEG/TIFF file, or RGBA pixels, to the one-channel image the pipeline takes, with the same
 * decoder and channel rule as the Node CLI (`decodeImage`, `toSingleChannel`), so both see identical pixels.
 */
export function decodeInput(input: SegmentInput, options: SegmentOptions): DecodedInput {
  const maxPixels = Math.min(options.maxPixels ?? ENGINE_MAX_PIXELS, DEFAULT_MAX_PIXELS);
  const channel = options.channel ?? 'auto';
  if (input.kind === 'file') {
    const page = options.page ?? 0;
    const pages = countPages(input.bytes, input.name);
    const decoded = decodeImage(input.bytes, { name: input.name, page, maxPixels });
    const pixelSize = userPixelSize(options.pixelSize) ?? decoded.pixelSize;
    return {
      image: toSingleChannel(decoded, channel, input.name),
      page,
      pages,
      ...(pixelSize ? { pixelSize } : {}),
      ...(channelsIdentical(decoded) ? {} : { multichannel: decoded }),
    };
  }
  const name = input.name ?? 'image';
  const { width, height } = input;
  if (width * height > maxPixels) {
    throw new QuorumInputError(
      'too-large',
      name,
      `image is ${width} x ${height} = ${width * height} pixels, over the limit of ${maxPixels}`,
    );
  }
  const data = new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength);
  const rgba = createRaster(width, height, 4, data, true, name);
  const pixelSize = userPixelSize(options.pixelSize);
  return {
    image: toSingleChannel(rgba, channel, name),
    page: 0,
    pages: 1,
    ...(pixelSize ? { pixelSize } : {}),
  };
}

/** A caller's micrometres per pixel as a square `PixelSize`; undefined passes through. */
export function userPixelSize(um: number | undefined): PixelSize | undefined {
  if (um === undefined) return undefined;
  if (!(um >= 1e-4 && um <= 1e4)) {
    throw new QuorumInputError(
      'invalid-value',
      'pixelSize',
      `is ${um}; want micrometres per pixel in 0.0001..10000`,
    );
  }
  return { x: um, y: um, source: 'user' };
}
