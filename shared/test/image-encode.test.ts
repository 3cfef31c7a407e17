import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodePng, encodeTiff } from '../src/image';
import { bits, H, p8, p16, pf, rgba16, W } from './fixtures/images/patterns';

describe('encodePng round trips through decodeImage', () => {
  it('8-bit and 16-bit, 1 to 4 channels', () => {
    const cases = [
      [new Uint8Array(p8()), 1],
      [new Uint16Array(p16()), 1],
      [new Uint16Array(rgba16()), 4],
      [new Uint8Array(W * H * 2).map((_, i) => i % 251), 2],
      [new Uint16Array(W * H * 3).map((_, i) => (i * 7919) % 65536), 3],
    ] as const;
    for (const [data, channels] of cases) {
      const img = decodeImage(encodePng(data, W, H, channels));
      expect([img.width, img.height, img.channels]).toEqual([W, H, channels]);
      expect(img.bitDepth).toBe(data instanceof Uint16Array ? 16 : 8);
      expect(img.data).toBeInstanceOf(data.constructor);
      expect(img.data).toEqual(data);
    }
  });

  it('any size and content (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.integer(),
        (w, h, c, sixteen, seed) => {
          const n = w * h * c;
          const data = sixteen ? new Uint16Array(n) : new Uint8Array(n);
          for (let i = 0; i < n; i++) data[i] = Math.abs(seed * (i + 1)) % (sixteen ? 65536 : 256);
          expect(decodeImage(encodePng(data, w, h, c)).data).toEqual(data);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('encodeTiff (own baseline writer) round trips through the utif2-based decoder', () => {
  it('8-bit, 16-bit and float32, bit for bit', () => {
    for (const data of [new Uint8Array(p8()), new Uint16Array(p16()), pf()]) {
      const img = decodeImage(encodeTiff(data, W, H), { name: 'out.tif' });
      expect([img.width, img.height, img.channels]).toEqual([W, H, 1]);
      expect(img.data).toBeInstanceOf(data.constructor);
      if (data instanceof Float32Array) expect(bits(img.data as Float32Array)).toEqual(bits(data));
      else expect(img.data).toEqual(data);
    }
  });

  it('a probability map with extreme floats', () => {
    const data = new Float32Array([0, 1, 0.5, 1e-45, -0, 0.1, 3.4028234663852886e38, -3.4028234663852886e38]);
    const img = decodeImage(encodeTiff(data, 4, 2));
    expect(img.sampleFormat).toBe('float');
    expect(bits(img.data as Float32Array)).toEqual(bits(data));
  });

  it('writes from a view into a larger buffer', () => {
    const big = new Uint16Array(100).map((_, i) => i * 600);
    const view = big.subarray(10, 22);
    expect(decodeImage(encodeTiff(view, 4, 3)).data).toEqual(view);
  });

  it('any size and content (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(8, 16, 32),
        fc.integer(),
        (w, h, depth, seed) => {
          const n = w * h;
          const data =
            depth === 8 ? new Uint8Array(n) : depth === 16 ? new Uint16Array(n) : new Float32Array(n);
          for (let i = 0; i < n; i++) {
            data[i] =
              depth === 32
                ? Math.sin(seed + i) * 1e3
                : Math.abs(seed * (i + 3)) % (depth === 8 ? 256 : 65536);
          }
          expect(decodeImage(encodeTiff(data, w, h)).data).toEqual(data);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('writes a classic TIFF in the host byte order with baseline tags', () => {
    const file = encodeTiff(new Uint8Array(6), 3, 2);
    expect(String.fromCharCode(file[0]!, file[1]!)).toBe('II'); // every supported host is little-endian
    const view = new DataView(file.buffer);
    expect(view.getUint16(2, true)).toBe(42);
    const ifd = view.getUint32(4, true);
    const tags: number[] = [];
    for (let i = 0; i < view.getUint16(ifd, true); i++) tags.push(view.getUint16(ifd + 2 + i * 12, true));
    expect(tags).toEqual([256, 257, 258, 259, 262, 273, 277, 278, 279, 282, 283, 284, 296, 339]);
  });
});
