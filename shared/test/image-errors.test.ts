import { describe, expect, it } from 'vitest';
import { QuorumInputError } from '../src/errors';
import {
  countPages,
  createRaster,
  type DecodeOptions,
  decodeImage,
  encodePng,
  encodeTiff,
  imageToFloat,
  toSingleChannel,
} from '../src/image';
import {
  fixture,
  H,
  jpegSegment,
  tiffEntry,
  W,
  withJpegSize,
  withPngSize,
  withTiffTag,
} from './fixtures/images/patterns';

type Code = QuorumInputError['code'];

/** Asserts the error class, code, that the message names the file (subject), and the gist of the reason. */
function expectInputError(run: () => unknown, code: Code, subject: string, reason: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(QuorumInputError);
  const e = caught as QuorumInputError;
  expect({ code: e.code, subject: e.subject }).toEqual({ code, subject });
  expect(e.message.startsWith(`${subject}: `)).toBe(true);
  expect(e.message).toMatch(reason);
}

function expectDecodeError(
  bytes: Uint8Array,
  name: string,
  code: Code,
  reason: RegExp,
  options: DecodeOptions = {},
) {
  expectInputError(() => decodeImage(bytes, { ...options, name }), code, name, reason);
}

const PNG = 'png-gray16.png';
const TIFF = 'tiff-u16-lzw.tif';
const TIFF_NONE = 'tiff-u8-none.tif';
const JPEG = 'jpeg-rgb.jpg';

describe('truncated files', () => {
  it('empty file, and a file cut inside the signature', () => {
    expectDecodeError(new Uint8Array(0), 'empty.png', 'truncated', /empty file/);
    expectDecodeError(fixture(PNG).slice(0, 5), 'cut.png', 'truncated', /PNG signature/);
  });

  it.each([
    [PNG, [20, 40, 0.5, -12, -1]],
    [TIFF, [6, 12, 0.5, -40, -1]],
    [TIFF_NONE, [0.5, -1]],
    ['tiff-u16-pages-lzw.tif', [0.5, 5000, 6200]],
    ['tiff-u16-tiled.tif', [0.5, -1]],
    [JPEG, [1, 6, 100, 0.5, -1]],
    ['jpeg-rgb-progressive.jpg', [0.5, -1]],
  ] as const)('%s cut at several places', (name, cuts) => {
    const bytes = fixture(name);
    for (const cut of cuts) {
      // Integers >= 1 are lengths to keep, fractions of the file, negatives bytes removed from the end.
      const keep = cut < 0 ? bytes.length + cut : cut < 1 ? Math.floor(bytes.length * cut) : cut;
      expectDecodeError(bytes.slice(0, keep), name, 'truncated', /ends|signature/);
    }
  });

  it('a multi-page TIFF cut inside a later directory is refused, even for page 0 and for counting', () => {
    // Page 2's directory starts at byte 6160 (make-fixtures.py: Pillow writes each page's strips, then its IFD).
    const cut = fixture('tiff-u16-pages-lzw.tif').slice(0, 6200);
    expectInputError(() => countPages(cut, 'p.tif'), 'truncated', 'p.tif', /TIFF ends inside directory 2/);
    expectDecodeError(cut, 'p.tif', 'truncated', /TIFF ends inside directory 2/, { page: 0 });
  });
});

describe('unknown and unsupported formats', () => {
  it('a text file renamed .png', () => {
    const text = new TextEncoder().encode('id,width,height\n1,2,3\n');
    expectDecodeError(text, 'notes.png', 'unsupported', /^notes\.png: not a PNG, TIFF or JPEG file$/);
    expectInputError(
      () => countPages(text, 'notes.png'),
      'unsupported',
      'notes.png',
      /not a PNG, TIFF or JPEG/,
    );
  });

  it('a GIF or BMP', () => {
    expectDecodeError(
      new TextEncoder().encode('GIF89a....'),
      'a.gif',
      'unsupported',
      /not a PNG, TIFF or JPEG/,
    );
    expectDecodeError(new Uint8Array([0x42, 0x4d, 1, 2, 3, 4, 5, 6]), 'a.bmp', 'unsupported', /not a PNG/);
  });

  it('TIFF compression, named by its code', () => {
    expectDecodeError(fixture('tiff-zstd.tif'), 'z.tif', 'unsupported', /compression 50000 \(Zstandard\)/);
    const jpegTiff = withTiffTag(fixture(TIFF_NONE), 259, 7);
    expectDecodeError(jpegTiff, 'j.tif', 'unsupported', /compression 7 \(JPEG\)/);
    expectDecodeError(
      withTiffTag(fixture(TIFF_NONE), 259, 12345),
      'u.tif',
      'unsupported',
      /compression 12345 /,
    );
  });

  it('TIFF variants: floating-point predictor, signed integers, BigTIFF, separate planes, YCbCr', () => {
    expectDecodeError(fixture('tiff-pred3.tif'), 'p3.tif', 'unsupported', /predictor 3/);
    expectDecodeError(fixture('tiff-i16.tif'), 'i16.tif', 'unsupported', /16-bit signed integer/);
    expectDecodeError(fixture('tiff-bigtiff.tif'), 'big.tif', 'unsupported', /BigTIFF/);
    const planar = withTiffTag(fixture('tiff-rgb8-deflate.tif'), 284, 2);
    expectDecodeError(planar, 'planar.tif', 'unsupported', /PlanarConfiguration 2/);
    const ycbcr = withTiffTag(fixture('tiff-rgb8-deflate.tif'), 262, 6);
    expectDecodeError(ycbcr, 'ycc.tif', 'unsupported', /photometric interpretation 6 \(YCbCr\)/);
  });

  it('JPEG coding processes jpeg-js cannot decode', () => {
    const lossless = fixture(JPEG);
    lossless[jpegSegment(lossless, 0xc0) + 1] = 0xc3;
    expectDecodeError(lossless, 'l.jpg', 'unsupported', /lossless JPEG \(SOF3\)/);
    const twelveBit = fixture(JPEG);
    twelveBit[jpegSegment(twelveBit, 0xc0) + 4] = 12;
    expectDecodeError(twelveBit, '12.jpg', 'unsupported', /12-bit JPEG/);
  });
});

describe('pages', () => {
  it('a page past the last one, negative or fractional', () => {
    const pages = fixture('tiff-u16-pages-lzw.tif');
    expectDecodeError(pages, 'p.tif', 'invalid-value', /page 3 is out of range: the file has 3 pages/, {
      page: 3,
    });
    expectDecodeError(pages, 'p.tif', 'invalid-value', /non-negative integer/, { page: -1 });
    expectDecodeError(pages, 'p.tif', 'invalid-value', /non-negative integer/, { page: 0.5 });
    expectDecodeError(
      fixture(PNG),
      'a.png',
      'invalid-value',
      /page 1 is out of range: the file has 1 page$/,
      {
        page: 1,
      },
    );
    expectDecodeError(fixture(JPEG), 'a.jpg', 'invalid-value', /page 2 is out of range/, { page: 2 });
  });
});

describe('too many pixels', () => {
  const limit = { maxPixels: W * H - 1 };
  it.each([PNG, TIFF, 'tiff-u16-tiled.tif', JPEG])('%s over maxPixels', (name) => {
    expectDecodeError(fixture(name), name, 'too-large', /37 x 23 = 851 pixels, over the limit of 850/, limit);
    expect(decodeImage(fixture(name), { maxPixels: W * H }).width).toBe(W); // exactly at the limit is fine
  });

  it('is checked from the header, before any pixel data is read or allocated', () => {
    // Headers claiming 65535 x 65535 (4.3 gigapixels) on files holding 851 pixels: if the decoder read or
    // allocated first, these would fail as truncated/corrupt (or exhaust memory) instead.
    expectDecodeError(withPngSize(fixture(PNG), 65535, 65535), 'h.png', 'too-large', /65535 x 65535/);
    expectDecodeError(withJpegSize(fixture(JPEG), 65535, 65535), 'h.jpg', 'too-large', /65535 x 65535/);
    let tiff = withTiffTag(fixture(TIFF_NONE), 256, 65535);
    tiff = withTiffTag(tiff, 257, 65535);
    expectDecodeError(tiff, 'h.tif', 'too-large', /65535 x 65535/);
  });

  it('the default limit is 64 Mi pixels', () => {
    expect(() => decodeImage(withPngSize(fixture(PNG), 8192, 8192))).toThrow(/PNG ends|corrupt/); // allowed size
    expectDecodeError(
      withPngSize(fixture(PNG), 8192, 8193),
      'x.png',
      'too-large',
      /over the limit of 67108864/,
    );
  });

  it('a bad maxPixels option', () => {
    expectDecodeError(fixture(PNG), 'a.png', 'invalid-value', /maxPixels must be a positive number/, {
      maxPixels: Number.NaN,
    });
  });
});

describe('zero-size images', () => {
  it('PNG, TIFF and JPEG with a zero dimension', () => {
    expectDecodeError(
      withPngSize(fixture(PNG), 0, 23),
      'z.png',
      'invalid-value',
      /zero-size PNG image \(0 x 23\)/,
    );
    expectDecodeError(withTiffTag(fixture(TIFF_NONE), 257, 0), 'z.tif', 'invalid-value', /zero-size TIFF/);
    expectDecodeError(withJpegSize(fixture(JPEG), 37, 0), 'z.jpg', 'invalid-value', /zero-size JPEG/);
  });
});

describe('float images with NaN or infinity', () => {
  it('refuses NaN and -Infinity, naming the pixel', () => {
    expectDecodeError(fixture('tiff-f32-nan.tif'), 'nan.tif', 'invalid-value', /NaN at pixel \(x 2, y 1\)/);
    expectDecodeError(
      fixture('tiff-f32-inf.tif'),
      'inf.tif',
      'invalid-value',
      /-Infinity at pixel \(x 2, y 1\)/,
    );
  });
});

describe('corrupt content: library errors come back as QuorumInputError', () => {
  it('a PNG with a damaged IDAT (CRC mismatch inside fast-png)', () => {
    const bytes = fixture(PNG);
    bytes[bytes.length - 20] ^= 0xff;
    expectDecodeError(bytes, 'crc.png', 'invalid-value', /corrupt PNG data/);
  });

  it('a TIFF Deflate strip that is not a zlib stream', () => {
    const bytes = fixture('tiff-u16-deflate32946.tif');
    const { at, le } = tiffEntry(bytes, 273);
    const strip = new DataView(bytes.buffer).getUint32(at, le);
    bytes.fill(0xff, strip, strip + 40);
    expectDecodeError(bytes, 'zlib.tif', 'invalid-value', /corrupt TIFF data/);
  });

  it('a TIFF whose directory chain loops (would hang a naive reader)', () => {
    const bytes = fixture(TIFF_NONE);
    const view = new DataView(bytes.buffer);
    const ifd = view.getUint32(4, true);
    view.setUint32(ifd + 2 + view.getUint16(ifd, true) * 12, ifd, true);
    expectDecodeError(bytes, 'loop.tif', 'invalid-value', /loops/);
    expectInputError(() => countPages(bytes, 'loop.tif'), 'invalid-value', 'loop.tif', /loops/);
  });

  it('an LZW strip starting mid-stream (found by fuzzing: utif2 alone loops forever on it)', () => {
    const bytes = fixture('tiff-f32-lzw.tif');
    bytes[3972] = 184; // low byte of strip 12's offset: the strip now starts inside another strip's codes
    const start = performance.now();
    expectDecodeError(
      bytes,
      'lzw.tif',
      'invalid-value',
      /corrupt TIFF data \(invalid LZW code in strip 12\)/,
    );
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('a TIFF tag claiming two billion values (would make a naive reader loop for minutes)', () => {
    const bytes = fixture(TIFF);
    const { at, le } = tiffEntry(bytes, 273);
    new DataView(bytes.buffer).setUint32(at - 4, 0x7fffffff, le);
    const start = performance.now();
    expectDecodeError(bytes, 'count.tif', 'truncated', /tag 273/);
    expect(performance.now() - start).toBeLessThan(100);
  });
});

describe('channel selection and encoder inputs', () => {
  const rgb = decodeImage(fixture('png-rgb8.png'));

  it('a channel index out of range names the index', () => {
    expectInputError(
      () => toSingleChannel(rgb, 3, 'cells.png'),
      'invalid-value',
      'cells.png',
      /channel 3 does not exist: the image has 3 channels \(0-2\)/,
    );
    expectInputError(() => toSingleChannel(rgb, -1), 'invalid-value', 'image', /channel -1 does not exist/);
  });

  it('luminance of a 2-channel non-alpha image is refused', () => {
    const two = {
      width: 1,
      height: 1,
      channels: 2,
      bitDepth: 8,
      sampleFormat: 'uint',
      data: new Uint8Array([1, 2]),
    } as const;
    expectInputError(
      () => toSingleChannel(two, 'auto', 'two.tif'),
      'unsupported',
      'two.tif',
      /choose a channel index/,
    );
  });

  it('imageToFloat needs one channel', () => {
    expectInputError(() => imageToFloat(rgb), 'invalid-value', 'image', /1-channel/);
  });

  it('createRaster refuses other typed arrays', () => {
    expectInputError(
      () => createRaster(2, 1, 1, new Int16Array(2) as unknown as Uint16Array, false, 'a.tif'),
      'invalid-value',
      'a.tif',
      /Uint8Array, Uint16Array or Float32Array/,
    );
  });

  it('encoders check sizes, lengths and values', () => {
    expectInputError(
      () => encodePng(new Uint8Array(5), 2, 2),
      'mismatch',
      'image',
      /5 samples, expected 2 x 2 x 1 = 4/,
    );
    expectInputError(() => encodePng(new Uint8Array(10), 1, 2, 5), 'unsupported', 'image', /1 to 4 channels/);
    expectInputError(
      () => encodeTiff(new Uint16Array(4), 0, 4),
      'invalid-value',
      'image',
      /positive integers/,
    );
    expectInputError(() => encodeTiff(new Float32Array(6), 2, 2), 'mismatch', 'image', /6 samples/);
    expectInputError(
      () => encodeTiff(new Float32Array([0, Number.NaN, 1, 2]), 2, 2),
      'invalid-value',
      'image',
      /NaN at sample 1/,
    );
  });
});
