import { decodeJpeg } from './jpeg';
import { checkPage, resolveMaxPixels, subjectOf } from './limits';
import { decodePng } from './png';
import { sniffFormat } from './sniff';
import { countTiffPages, decodeTiff } from './tiff';
import type { DecodeOptions, RasterImage } from './types';

/**
 * Decodes a PNG, TIFF or JPEG file, recognized by its first bytes, to a `RasterImage` holding the stored
 * samples. Every bad input throws a `QuorumInputError` whose subject is `options.name` (or 'image'): truncated
 * files ('truncated'), unknown formats and unsupported variants ('unsupported'), too many pixels ('too-large',
 * checked from the header before pixel data is inflated), zero-size images, NaN/infinite float samples,
 * out-of-range pages and corrupt data ('invalid-value').
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): RasterImage {
  const subject = subjectOf(options.name);
  const maxPixels = resolveMaxPixels(options.maxPixels, subject);
  const format = sniffFormat(bytes, subject);
  if (format === 'tiff') return decodeTiff(bytes, subject, options.page, maxPixels);
  checkPage(options.page, 1, subject);
  return format === 'png' ? decodePng(bytes, subject, maxPixels) : decodeJpeg(bytes, subject, maxPixels);
}

/** Number of pages: the directories of a TIFF, 1 for PNG and JPEG. Reads no pixel data. */
export function countPages(bytes: Uint8Array, name?: string): number {
  const subject = subjectOf(name);
  return sniffFormat(bytes, subject) === 'tiff' ? countTiffPages(bytes, subject) : 1;
}
