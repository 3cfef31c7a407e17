import { QuorumInputError } from '../errors';

/**
 * Default cap on width x height: 64 Mi pixels (67,108,864), so that 8192 x 8192 (a common large microscopy
 * field) still decodes, while a 16-bit RGBA image at the cap already needs 512 MiB.
 */
export const DEFAULT_MAX_PIXELS = 64 * 1024 * 1024;

/** Samples per pixel beyond this are refused: no supported use needs more, and it bounds memory per pixel. */
export const MAX_CHANNELS = 16;

/** The `subject` of errors about a file: its name when the caller gave one. */
export function subjectOf(name: string | undefined): string {
  return name !== undefined && name !== '' ? name : 'image';
}

/** Validates the `maxPixels` option (a caller mistake is reported like any other bad input). */
export function resolveMaxPixels(maxPixels: number | undefined, subject: string): number {
  if (maxPixels === undefined) return DEFAULT_MAX_PIXELS;
  if (!Number.isFinite(maxPixels) || maxPixels < 1) {
    throw new QuorumInputError(
      'invalid-value',
      subject,
      `maxPixels must be a positive number, got ${maxPixels}`,
    );
  }
  return maxPixels;
}

/**
 * Checks header dimensions before any pixel buffer is allocated: zero-size images are refused, and so is
 * anything over `maxPixels`.
 */
export function checkDimensions(
  width: number,
  height: number,
  maxPixels: number,
  subject: string,
  format: string,
): void {
  if (!(width > 0 && height > 0)) {
    throw new QuorumInputError('invalid-value', subject, `zero-size ${format} image (${width} x ${height})`);
  }
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new QuorumInputError(
      'too-large',
      subject,
      `${format} image is ${width} x ${height} = ${pixels} pixels, over the limit of ${maxPixels}`,
    );
  }
}

/** Checks the requested 0-based page against the number of pages in the file. */
export function checkPage(page: number | undefined, pageCount: number, subject: string): number {
  const p = page ?? 0;
  if (!Number.isInteger(p) || p < 0) {
    throw new QuorumInputError('invalid-value', subject, `page must be a non-negative integer, got ${p}`);
  }
  if (p >= pageCount) {
    const has = pageCount === 1 ? '1 page' : `${pageCount} pages`;
    throw new QuorumInputError('invalid-value', subject, `page ${p} is out of range: the file has ${has}`);
  }
  return p;
}
