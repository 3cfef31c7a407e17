import { describe, expect, it } from 'vitest';
import { lzwCodesAreSafe } from '../src/image/tiff-lzw';
import { fixture, tiffEntry } from './fixtures/images/patterns';

/** Packs 9-bit codes MSB-first, as TIFF LZW does while the table is small. */
function pack9(codes: number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((codes.length * 9) / 8) + 2);
  codes.forEach((code, i) => {
    for (let b = 0; b < 9; b++) {
      const bit = i * 9 + b;
      if ((code >> (8 - b)) & 1) out[bit >> 3]! |= 0x80 >> (bit & 7);
    }
  });
  return out;
}

describe('lzwCodesAreSafe (guard for utif2 LZW decoder)', () => {
  it('accepts valid streams, including the code being defined (KwKwK) and repeated Clear codes', () => {
    expect(lzwCodesAreSafe(pack9([256, 65, 66, 258, 259, 257]), 0, 8)).toBe(true);
    expect(lzwCodesAreSafe(pack9([256, 65, 258, 257]), 0, 5)).toBe(true);
    expect(lzwCodesAreSafe(pack9([256, 256, 65, 257]), 0, 5)).toBe(true);
  });

  it('accepts every strip of the libtiff-written LZW fixtures', () => {
    for (const name of ['tiff-u16-lzw.tif', 'tiff-f32-lzw.tif', 'tiff-u8-lzw-strips.tif']) {
      const bytes = fixture(name);
      const view = new DataView(bytes.buffer);
      const offsets = tiffEntry(bytes, 273);
      const counts = tiffEntry(bytes, 279);
      const n = view.getUint32(offsets.at - 4, offsets.le);
      for (let i = 0; i < n; i++) {
        const at = n === 1 ? offsets.at : view.getUint32(offsets.at, offsets.le) + 4 * i;
        const count = n === 1 ? counts.at : view.getUint32(counts.at, counts.le) + 4 * i;
        expect(lzwCodesAreSafe(bytes, view.getUint32(at, true), view.getUint32(count, true))).toBe(true);
      }
    }
  });

  it('refuses a code beyond the next free table entry', () => {
    expect(lzwCodesAreSafe(pack9([256, 65, 259, 257]), 0, 5)).toBe(false);
  });

  it('refuses a non-literal code right after Clear', () => {
    expect(lzwCodesAreSafe(pack9([256, 65, 66, 256, 258, 257]), 0, 7)).toBe(false);
  });
});
