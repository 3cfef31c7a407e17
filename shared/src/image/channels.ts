import { QuorumInputError } from '../errors';
import { subjectOf } from './limits';
import { allocateLike, createRaster } from './raster';
import type { RasterImage } from './types';

/**
 * How to reduce an image to one channel: `'auto'` (the common channel if all colour channels are equal,
 * else luminance), `'luminance'`, or a 0-based channel index.
 */
export type ChannelChoice = 'auto' | 'luminance' | number;

/**
 * ITU-R BT.601 luma weights for R, G, B: the weights of Pillow's `convert('L')`, OpenCV's `COLOR_RGB2GRAY`
 * and libjpeg, so a greyscale made by those tools from the same RGB file matches ours (up to rounding).
 */
export const LUMA_WEIGHTS_REC601: readonly [number, number, number] = [0.299, 0.587, 0.114];

/** Number of channels that are not alpha. */
export function colourChannels(image: Pick<RasterImage, 'channels' | 'alpha'>): number {
  return image.alpha ? image.channels - 1 : image.channels;
}

/**
 * Whether every pixel has the same value in all its colour channels (alpha ignored): true for greyscale saved
 * as RGB or RGBA, as most published fluorescence PNGs are. True for 1-channel images.
 */
export function channelsIdentical(image: RasterImage): boolean {
  const n = colourChannels(image);
  const { data, channels } = image;
  if (n <= 1) return true;
  for (let i = 0; i < data.length; i += channels) {
    const v = data[i];
    for (let c = 1; c < n; c++) if (data[i + c] !== v) return false;
  }
  return true;
}

/**
 * Reduces an image to one channel of the same bit depth and sample format; alpha is dropped.
 * - `'auto'`: channel 0 if all colour channels are identical, else Rec. 601 luminance for RGB(A); other
 *   multi-channel images (e.g. 2-channel fluorescence TIFFs) have no meaningful luminance and throw, asking for
 *   an explicit channel.
 * - `'luminance'`: Rec. 601 luminance (`LUMA_WEIGHTS_REC601`); integer images are rounded to the nearest
 *   integer, so the result keeps the integer type.
 * - a number: that channel (0-based), including an alpha channel if asked for explicitly.
 * A 1-channel image is returned as is (not copied). `name` is the file name for error messages.
 */
export function toSingleChannel(
  image: RasterImage,
  choice: ChannelChoice = 'auto',
  name?: string,
): RasterImage {
  const subject = subjectOf(name);
  if (typeof choice === 'number') {
    if (!Number.isInteger(choice) || choice < 0 || choice >= image.channels) {
      const has =
        image.channels === 1 ? '1 channel (0)' : `${image.channels} channels (0-${image.channels - 1})`;
      throw new QuorumInputError(
        'invalid-value',
        subject,
        `channel ${choice} does not exist: the image has ${has}`,
      );
    }
    return image.channels === 1 ? image : extractChannel(image, choice);
  }
  if (choice !== 'auto' && choice !== 'luminance') {
    throw new QuorumInputError(
      'invalid-value',
      subject,
      `channel choice must be 'auto', 'luminance' or a channel index, got ${JSON.stringify(choice)}`,
    );
  }
  const colours = colourChannels(image);
  if (image.channels === 1) return image;
  if (colours === 1 || (choice === 'auto' && channelsIdentical(image))) return extractChannel(image, 0);
  if (colours !== 3) {
    throw new QuorumInputError(
      'unsupported',
      subject,
      `luminance needs RGB, but the image has ${colours} different colour channels: choose a channel index`,
    );
  }
  return luminance(image);
}

function extractChannel(image: RasterImage, channel: number): RasterImage {
  const { width, height, channels, data } = image;
  const out = allocateLike(image, width * height);
  for (let p = 0, i = channel; p < out.length; p++, i += channels) out[p] = data[i]!;
  return createRaster(width, height, 1, out);
}

function luminance(image: RasterImage): RasterImage {
  const { width, height, channels, data } = image;
  const [wr, wg, wb] = LUMA_WEIGHTS_REC601;
  const out = allocateLike(image, width * height);
  if (image.sampleFormat === 'float') {
    for (let p = 0, i = 0; p < out.length; p++, i += channels) {
      out[p] = wr * data[i]! + wg * data[i + 1]! + wb * data[i + 2]!;
    }
  } else {
    // The weights sum to 1 only up to float rounding: clamp so that white cannot wrap around to 0.
    const max = image.bitDepth === 16 ? 0xffff : 0xff;
    for (let p = 0, i = 0; p < out.length; p++, i += channels) {
      out[p] = Math.min(max, Math.round(wr * data[i]! + wg * data[i + 1]! + wb * data[i + 2]!));
    }
  }
  return createRaster(width, height, 1, out);
}
