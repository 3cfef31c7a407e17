import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  channelsIdentical,
  countPages,
  decodeImage,
  formatPixelSize,
  omePixelSize,
  physicalScale,
  type RasterImage,
  toSingleChannel,
} from '../src/image';
import {
  bits,
  fixture,
  gray1,
  H,
  jpegRgb,
  la8,
  p8,
  p16,
  palette,
  pf,
  rgb8,
  rgb16,
  rgba8,
  rgba16,
  smooth8,
  W,
  withTiffTag,
} from './fixtures/images/patterns';

function decode(name: string, page?: number): RasterImage {
  return decodeImage(fixture(name), { name, page });
}

function expectImage(
  img: RasterImage,
  shape: { channels: number; bitDepth: 8 | 16 | 32; alpha?: boolean },
  values: number[] | Float32Array,
) {
  expect([img.width, img.height, img.channels, img.bitDepth]).toEqual([W, H, shape.channels, shape.bitDepth]);
  expect(img.sampleFormat).toBe(shape.bitDepth === 32 ? 'float' : 'uint');
  expect(img.alpha ?? false).toBe(shape.alpha ?? false);
  const Type = { 8: Uint8Array, 16: Uint16Array, 32: Float32Array }[shape.bitDepth];
  expect(img.data).toBeInstanceOf(Type);
  if (values instanceof Float32Array) expect(bits(img.data as Float32Array)).toEqual(bits(values));
  else expect(Array.from(img.data)).toEqual(values);
}

describe('decodeImage: PNG (fixtures written by Pillow and a raw zlib writer)', () => {
  it.each([
    ['png-gray8.png', { channels: 1, bitDepth: 8 }, p8()],
    ['png-gray16.png', { channels: 1, bitDepth: 16 }, p16()],
    ['png-rgb8.png', { channels: 3, bitDepth: 8 }, rgb8()],
    ['png-rgba8.png', { channels: 4, bitDepth: 8, alpha: true }, rgba8()],
    ['png-la8.png', { channels: 2, bitDepth: 8, alpha: true }, la8()],
    ['png-rgb16.png', { channels: 3, bitDepth: 16 }, rgb16()],
    ['png-rgba16.png', { channels: 4, bitDepth: 16, alpha: true }, rgba16()],
    ['png-palette.png', { channels: 3, bitDepth: 8 }, palette()],
    ['png-gray1.png', { channels: 1, bitDepth: 8 }, gray1()],
  ] as const)('%s decodes to the exact pattern', (name, shape, values) => {
    expectImage(decode(name), shape, values);
  });
});

describe('decodeImage: TIFF (fixtures written by libtiff via Pillow, and by tifffile)', () => {
  it.each([
    ['tiff-u8-none.tif', 8, p8()],
    ['tiff-u8-lzw-strips.tif', 8, p8()],
    ['tiff-u8-packbits.tif', 8, p8()],
    ['tiff-palette8.tif', 8, p8()],
    ['tiff-u16-lzw.tif', 16, p16()],
    ['tiff-u16-none-be.tif', 16, p16()],
    ['tiff-u16-deflate-pred-be.tif', 16, p16()],
    ['tiff-u16-deflate32946.tif', 16, p16()],
    ['tiff-u16-tiled.tif', 16, p16()],
  ] as const)('%s decodes to the exact pattern', (name, bitDepth, values) => {
    expectImage(decode(name), { channels: 1, bitDepth }, values);
  });

  it.each(['tiff-f32-none-be.tif', 'tiff-f32-lzw.tif', 'tiff-f32-deflate-be.tif'])(
    '%s decodes float32 bit for bit (-0, subnormal, 3.4e38 included)',
    (name) => {
      expectImage(decode(name), { channels: 1, bitDepth: 32 }, pf());
    },
  );

  it('inverts WhiteIsZero (photometric 0) integer images, so larger is brighter', () => {
    const img = decodeImage(withTiffTag(fixture('tiff-u8-none.tif'), 262, 0));
    expect(Array.from(img.data)).toEqual(p8().map((v) => 255 - v));
  });

  it('decodes RGB (Deflate) interleaved', () => {
    expectImage(decode('tiff-rgb8-deflate.tif'), { channels: 3, bitDepth: 8 }, rgb8());
  });

  it('counts and selects pages (LZW little-endian, Deflate big-endian)', () => {
    expect(countPages(fixture('tiff-u16-pages-lzw.tif'))).toBe(3);
    expect(countPages(fixture('tiff-u8-pages-be.tif'))).toBe(4);
    for (let k = 0; k < 3; k++)
      expectImage(decode('tiff-u16-pages-lzw.tif', k), { channels: 1, bitDepth: 16 }, p16(k));
    for (let k = 0; k < 4; k++)
      expectImage(decode('tiff-u8-pages-be.tif', k), { channels: 1, bitDepth: 8 }, p8(k));
    expectImage(decode('tiff-u8-pages-be.tif'), { channels: 1, bitDepth: 8 }, p8(0)); // default page 0
  });

  it('reads from a Uint8Array that is a view into a larger buffer', () => {
    const bytes = fixture('tiff-u16-deflate32946.tif');
    const big = new Uint8Array(bytes.length + 13);
    big.set(bytes, 7);
    const img = decodeImage(big.subarray(7, 7 + bytes.length));
    expect(Array.from(img.data)).toEqual(p16());
  });
});

describe('decodeImage: Node Buffers', () => {
  it.each(['tiff-u8-packbits.tif', 'tiff-u16-deflate32946.tif', 'png-gray16.png', 'jpeg-gray.jpg'])(
    '%s read with readFileSync (a Buffer, often a view into a shared pool) decodes like a Uint8Array',
    (name) => {
      const buffer = readFileSync(new URL(`fixtures/images/${name}`, import.meta.url));
      const pooled = Buffer.concat([Buffer.from('prefix'), buffer]).subarray(6);
      expect(pooled.byteOffset).toBeGreaterThan(0);
      for (const bytes of [buffer, pooled]) {
        expect(Array.from(decodeImage(bytes).data)).toEqual(Array.from(decode(name).data));
      }
    },
  );
});

describe('decodeImage: JPEG (jpeg-js, fixtures written by libjpeg via Pillow)', () => {
  function meanAndMaxError(img: RasterImage, want: number[]): [number, number] {
    let sum = 0;
    let max = 0;
    img.data.forEach((v, i) => {
      const e = Math.abs(v - want[i]!);
      sum += e;
      max = Math.max(max, e);
    });
    return [sum / want.length, max];
  }

  it('decodes a grey JPEG to 1 channel close to the pattern', () => {
    const img = decode('jpeg-gray.jpg');
    expect([img.width, img.height, img.channels, img.bitDepth]).toEqual([W, H, 1, 8]);
    const [mean, max] = meanAndMaxError(img, smooth8());
    expect(mean).toBeLessThan(1);
    expect(max).toBeLessThanOrEqual(4);
  });

  it.each(['jpeg-rgb.jpg', 'jpeg-rgb-progressive.jpg'])('decodes %s to RGB close to the pattern', (name) => {
    const img = decode(name);
    expect([img.width, img.height, img.channels, img.bitDepth, img.alpha ?? false]).toEqual([
      W,
      H,
      3,
      8,
      false,
    ]);
    const [mean, max] = meanAndMaxError(img, jpegRgb());
    expect(mean).toBeLessThan(1.5);
    expect(max).toBeLessThanOrEqual(8);
  });

  it('counts one page for PNG and JPEG', () => {
    expect(countPages(fixture('jpeg-rgb.jpg'))).toBe(1);
    expect(countPages(fixture('png-gray8.png'))).toBe(1);
  });
});

describe('decodeImage: bundled dsb2018-fluo samples', () => {
  const root = new URL('../../data/samples/dsb2018-fluo/', import.meta.url);
  const rows = readFileSync(new URL('metadata.csv', root), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [id, , width, height, nuclei] = line.split(',');
      return { id: id!, width: Number(width), height: Number(height), nuclei: Number(nuclei) };
    });

  it('has the 11 samples listed', () => {
    expect(rows).toHaveLength(11);
  });

  it.each(rows)('image $id: 8-bit RGB(A) with identical channels, auto gives channel 0', (row) => {
    const name = `${row.id}.png`;
    const img = decodeImage(new Uint8Array(readFileSync(new URL(`images/${name}`, root))), { name });
    expect([img.width, img.height, img.bitDepth]).toEqual([row.width, row.height, 8]);
    expect([3, 4]).toContain(img.channels);
    expect(channelsIdentical(img)).toBe(true);
    const one = toSingleChannel(img);
    expect([one.channels, one.bitDepth, one.width, one.height]).toEqual([1, 8, row.width, row.height]);
    for (let p = 0; p < one.data.length; p += 97) expect(one.data[p]).toBe(img.data[p * img.channels]);
    expect(one.data.some((v) => v !== one.data[0])).toBe(true); // not blank
  });

  it.each(rows)('mask $id: 16-bit grey labels 0..nuclei, every label present', (row) => {
    const name = `${row.id}.png`;
    const img = decodeImage(new Uint8Array(readFileSync(new URL(`masks/${name}`, root))), { name });
    expect([img.width, img.height, img.channels, img.bitDepth]).toEqual([row.width, row.height, 1, 16]);
    const labels = new Set(img.data);
    expect(Math.max(...labels)).toBe(row.nuclei);
    expect(labels.size).toBe(row.nuclei + 1); // background and 1..N
  });
});

describe('pixel size metadata (fixtures written by tifffile, as ImageJ and OME-TIFF writers do)', () => {
  it.each([
    ['tiff-imagej-um.tif', 0.325, 0.325, 'imagej'],
    ['tiff-imagej-micron-aniso.tif', 0.2, 0.5, 'imagej'],
    ['tiff-ome.ome.tif', 0.65, 0.65, 'ome-xml'],
    ['tiff-ome-nm.ome.tif', 0.108, 0.108, 'ome-xml'],
    ['tiff-res-cm.tif', 0.5, 0.5, 'tiff'],
  ])('%s: %f x %f um from %s', (name, x, y, source) => {
    const size = decode(name).pixelSize!;
    expect(size.source).toBe(source);
    expect(size.x).toBeCloseTo(x, 8);
    expect(size.y).toBeCloseTo(y, 8);
  });

  it('takes no pixel size from an inch resolution (a print density), from files without one, or from PNG', () => {
    expect(decode('tiff-res-inch.tif').pixelSize).toBeUndefined();
    expect(decode('tiff-u16-lzw.tif').pixelSize).toBeUndefined();
    expect(decode('png-gray16.png').pixelSize).toBeUndefined();
  });

  it('ignores implausible or malformed calibration instead of failing the decode', () => {
    // XResolution's denominator set to 0: the image still decodes, without a pixel size.
    const bytes = fixture('tiff-res-cm.tif');
    const { at, le } = tiffEntryValue(bytes, 282);
    const broken = bytes.slice();
    new DataView(broken.buffer).setUint32(at + 4, 0, le);
    const img = decodeImage(broken, { name: 'broken.tif' });
    expect(img.width).toBe(W);
    expect(img.pixelSize).toBeUndefined();
    expect(omePixelSize('<OME><Image><Pixels PhysicalSizeX="0" SizeX="4"/></Image></OME>')).toBeUndefined();
    expect(
      omePixelSize('<OME><Pixels PhysicalSizeX="2.5" PhysicalSizeXUnit="parsec"/></OME>'),
    ).toBeUndefined();
    expect(
      omePixelSize('<ome:Pixels PhysicalSizeX="0.1" PhysicalSizeY="0.2" PhysicalSizeYUnit="nm"/>'),
    ).toEqual({
      x: 0.1,
      y: 0.0002,
      source: 'ome-xml',
    });
  });

  it('turns a pixel size into physical scales: lengths only for square pixels', () => {
    expect(physicalScale({ x: 0.5, y: 0.5 })).toEqual({ area: 0.25, length: 0.5 });
    expect(physicalScale({ x: 0.5, y: 0.504 }).length).toBeCloseTo(Math.sqrt(0.252), 12);
    expect(physicalScale({ x: 0.2, y: 0.5 })).toEqual({ area: 0.1, length: null });
  });

  it('formats a size for messages', () => {
    expect(formatPixelSize({ x: 0.325, y: 0.325, source: 'imagej' })).toBe('0.325 um (ImageJ metadata)');
    expect(formatPixelSize({ x: 0.2, y: 0.5, source: 'user' })).toBe('0.2 x 0.5 um (given)');
  });
});

/** File offset of the value of the first `tag` entry of the first directory, resolving an offset-stored value. */
function tiffEntryValue(bytes: Uint8Array, tag: number): { at: number; le: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[0] === 0x49;
  const ifd = view.getUint32(4, le);
  for (let i = 0; i < view.getUint16(ifd, le); i++) {
    const e = ifd + 2 + i * 12;
    if (view.getUint16(e, le) === tag) return { at: view.getUint32(e + 8, le), le };
  }
  throw new Error(`tag ${tag} not found`);
}
