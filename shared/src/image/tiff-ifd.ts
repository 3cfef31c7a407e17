import { QuorumInputError } from '../errors';

/**
 * The structure of a classic TIFF file: header, chain of image file directories (IFDs), tag values. Parsed
 * here, with every offset and count checked against the file size and the directory chain checked for loops,
 * rather than by utif2's `decode`, which follows offsets unchecked: a flipped byte in a count makes it loop
 * billions of times, and a directory pointing back to itself makes it loop forever.
 */

export interface TiffFile {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly littleEndian: boolean;
  /** File offsets of the directories of the main chain, one per page, in file order. */
  readonly pages: readonly number[];
}

/** Tag values as unsigned integers, e.g. `tags.get(256)` = `[width]`. Only integer-typed tags are read. */
export type TiffTags = ReadonlyMap<number, readonly number[]>;

const HEADER_LENGTH = 8;
const ENTRY_LENGTH = 12;

/** Byte size of each TIFF field type that holds unsigned integers: BYTE, SHORT, LONG, IFD. */
const INTEGER_TYPE_SIZES: Readonly<Record<number, number>> = { 1: 1, 3: 2, 4: 4, 13: 4 };

export function openTiff(bytes: Uint8Array, subject: string): TiffFile {
  if (bytes.length < HEADER_LENGTH)
    throw new QuorumInputError('truncated', subject, 'TIFF ends inside its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const littleEndian = bytes[0] === 0x49;
  const version = view.getUint16(2, littleEndian);
  if (version === 43) {
    throw new QuorumInputError('unsupported', subject, 'BigTIFF is not supported: save it as a classic TIFF');
  }
  if (version !== 42) {
    throw new QuorumInputError('invalid-value', subject, `corrupt TIFF: version ${version} instead of 42`);
  }
  const pages = listDirectories(bytes, view, littleEndian, subject);
  return { bytes, view, littleEndian, pages };
}

function listDirectories(bytes: Uint8Array, view: DataView, le: boolean, subject: string): number[] {
  const pages: number[] = [];
  const seen = new Set<number>();
  let offset = view.getUint32(4, le);
  if (offset === 0) throw new QuorumInputError('invalid-value', subject, 'corrupt TIFF: no image directory');
  while (offset !== 0) {
    if (seen.has(offset)) {
      throw new QuorumInputError(
        'invalid-value',
        subject,
        `corrupt TIFF: directory chain loops at offset ${offset}`,
      );
    }
    if (offset < HEADER_LENGTH) {
      throw new QuorumInputError('invalid-value', subject, `corrupt TIFF: directory offset ${offset}`);
    }
    if (offset + 2 > bytes.length) {
      throw new QuorumInputError('truncated', subject, `TIFF ends before directory ${pages.length}`);
    }
    const next = offset + 2 + view.getUint16(offset, le) * ENTRY_LENGTH;
    if (next + 4 > bytes.length) {
      throw new QuorumInputError('truncated', subject, `TIFF ends inside directory ${pages.length}`);
    }
    seen.add(offset);
    pages.push(offset);
    offset = view.getUint32(next, le);
  }
  return pages;
}

/** Reads the integer values of the `wanted` tags of the directory at `offset`. */
export function readTags(
  tiff: TiffFile,
  offset: number,
  wanted: ReadonlySet<number>,
  subject: string,
): TiffTags {
  const { view, littleEndian: le, bytes } = tiff;
  const tags = new Map<number, number[]>();
  const count = view.getUint16(offset, le);
  for (let i = 0; i < count; i++) {
    const entry = offset + 2 + i * ENTRY_LENGTH;
    const tag = view.getUint16(entry, le);
    if (!wanted.has(tag)) continue;
    const type = view.getUint16(entry + 2, le);
    const n = view.getUint32(entry + 4, le);
    const size = INTEGER_TYPE_SIZES[type];
    if (size === undefined) {
      throw new QuorumInputError('invalid-value', subject, `corrupt TIFF: tag ${tag} has field type ${type}`);
    }
    const bytesNeeded = size * n;
    // Values of up to 4 bytes sit in the entry itself; longer ones at the offset it holds.
    const at = bytesNeeded <= 4 ? entry + 8 : view.getUint32(entry + 8, le);
    if (at + bytesNeeded > bytes.length) {
      throw new QuorumInputError('truncated', subject, `TIFF ends inside the values of tag ${tag}`);
    }
    const values = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const p = at + k * size;
      values[k] = size === 1 ? view.getUint8(p) : size === 2 ? view.getUint16(p, le) : view.getUint32(p, le);
    }
    tags.set(tag, values);
  }
  return tags;
}
