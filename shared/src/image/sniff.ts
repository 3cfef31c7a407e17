import { QuorumInputError } from '../errors';
import type { ImageFormat } from './types';

/** Magic numbers. TIFF's include BigTIFF (43), so that it is reported as unsupported rather than unknown. */
const SIGNATURES: ReadonlyArray<readonly [ImageFormat, readonly number[]]> = [
  ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['tiff', [0x49, 0x49, 0x2a, 0x00]],
  ['tiff', [0x4d, 0x4d, 0x00, 0x2a]],
  ['tiff', [0x49, 0x49, 0x2b, 0x00]],
  ['tiff', [0x4d, 0x4d, 0x00, 0x2b]],
  ['jpeg', [0xff, 0xd8, 0xff]],
];

/**
 * Identifies the format from the first bytes, never from the file name (a renamed file is common, and the
 * extension proves nothing). A file that stops inside a signature is reported as truncated.
 */
export function sniffFormat(bytes: Uint8Array, subject: string): ImageFormat {
  if (bytes.length === 0) throw new QuorumInputError('truncated', subject, 'empty file');
  for (const [format, magic] of SIGNATURES) {
    const n = Math.min(magic.length, bytes.length);
    let same = true;
    for (let i = 0; i < n && same; i++) same = bytes[i] === magic[i];
    if (!same) continue;
    if (n === magic.length) return format;
    throw new QuorumInputError(
      'truncated',
      subject,
      `file ends inside the ${format.toUpperCase()} signature`,
    );
  }
  throw new QuorumInputError('unsupported', subject, 'not a PNG, TIFF or JPEG file');
}
