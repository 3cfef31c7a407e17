import { describe, expect, it } from 'vitest';
import {
  channelsIdentical,
  createRaster,
  decodeImage,
  imageToFloat,
  LUMA_WEIGHTS_REC601,
  type RasterImage,
  toSingleChannel,
} from '../src/image';
import { fixture } from './fixtures/images/patterns';

function raster(channels: number, data: Uint8Array | Uint16Array | Float32Array, alpha = false): RasterImage {
  return createRaster(data.length / channels, 1, channels, data, alpha);
}

describe('channelsIdentical', () => {
  it('ignores alpha, and is true for one channel', () => {
    expect(channelsIdentical(raster(4, new Uint8Array([5, 5, 5, 0, 9, 9, 9, 255]), true))).toBe(true);
    expect(channelsIdentical(raster(2, new Uint8Array([5, 0, 9, 255]), true))).toBe(true);
    expect(channelsIdentical(raster(1, new Uint16Array([1, 2, 3])))).toBe(true);
  });

  it('is false as soon as one pixel differs in one colour channel', () => {
    expect(channelsIdentical(raster(3, new Uint8Array([5, 5, 5, 9, 9, 8])))).toBe(false);
    // Without the alpha flag, a 4th channel is data, not alpha.
    expect(channelsIdentical(raster(4, new Uint8Array([5, 5, 5, 0])))).toBe(false);
  });
});

describe('toSingleChannel', () => {
  it("'auto' takes channel 0 when colour channels are identical, dropping alpha", () => {
    const img = raster(4, new Uint16Array([1000, 1000, 1000, 7, 65535, 65535, 65535, 9]), true);
    const one = toSingleChannel(img);
    expect([one.channels, one.bitDepth, one.sampleFormat, one.alpha ?? false]).toEqual([
      1,
      16,
      'uint',
      false,
    ]);
    expect(one.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(one.data)).toEqual([1000, 65535]);
  });

  it("'auto' falls back to Rec. 601 luminance, rounded for integers", () => {
    const img = raster(3, new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 10, 20, 30]));
    const one = toSingleChannel(img, 'auto');
    expect(one.data).toBeInstanceOf(Uint8Array);
    // 0.299*255 = 76.245, 0.587*255 = 149.685, 0.114*255 = 29.07, white stays 255 (no wrap to 0),
    // 0.299*10 + 0.587*20 + 0.114*30 = 18.15
    expect(Array.from(one.data)).toEqual([76, 150, 29, 255, 18]);
    expect(LUMA_WEIGHTS_REC601).toEqual([0.299, 0.587, 0.114]);
  });

  it("'luminance' on 16-bit keeps 16-bit, and white 65535 does not overflow", () => {
    const img = raster(3, new Uint16Array([65535, 65535, 65535, 1000, 2000, 3000]));
    const one = toSingleChannel(img, 'luminance');
    expect(one.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(one.data)).toEqual([65535, Math.round(299 + 1174 + 342)]);
  });

  it("'luminance' on float is not rounded", () => {
    const img = raster(3, new Float32Array([0.5, 0.25, 1]));
    const one = toSingleChannel(img, 'luminance');
    expect(one.sampleFormat).toBe('float');
    expect(one.data[0]).toBeCloseTo(0.299 * 0.5 + 0.587 * 0.25 + 0.114, 6);
  });

  it("'luminance' on identical channels equals the channel (up to rounding)", () => {
    const img = decodeImage(fixture('png-la8.png'));
    expect(Array.from(toSingleChannel(img, 'luminance').data)).toEqual(
      Array.from(toSingleChannel(img, 0).data),
    );
  });

  it('a number selects that channel, alpha included when asked', () => {
    const img = decodeImage(fixture('png-rgba8.png'));
    for (let c = 0; c < 4; c++) {
      const one = toSingleChannel(img, c);
      expect(one.channels).toBe(1);
      for (let p = 0; p < one.data.length; p += 31) expect(one.data[p]).toBe(img.data[p * 4 + c]);
    }
  });

  it('a 1-channel image comes back as is', () => {
    const img = decodeImage(fixture('png-gray16.png'));
    expect(toSingleChannel(img)).toBe(img);
    expect(toSingleChannel(img, 0)).toBe(img);
  });

  it('a multi-channel TIFF with equal channels works with auto; different channels need an index', () => {
    const same = createRaster(2, 1, 2, new Uint16Array([4, 4, 6, 6]));
    expect(Array.from(toSingleChannel(same).data)).toEqual([4, 6]);
    const different = createRaster(2, 1, 2, new Uint16Array([4, 5, 6, 7]));
    expect(() => toSingleChannel(different)).toThrow(/choose a channel index/);
    expect(Array.from(toSingleChannel(different, 1).data)).toEqual([5, 7]);
  });
});

describe('imageToFloat', () => {
  it('returns raw values unscaled, as a fresh array', () => {
    const img = decodeImage(fixture('png-gray16.png'));
    const f = imageToFloat(img);
    expect(f).toBeInstanceOf(Float32Array);
    expect(Array.from(f)).toEqual(Array.from(img.data));
    expect(Math.max(...f)).toBeGreaterThan(255);
    f[0] = -1;
    expect(img.data[0]).toBe(0);
  });

  it('copies float data', () => {
    const img = createRaster(2, 1, 1, new Float32Array([0.5, -2]));
    const f = imageToFloat(img);
    expect(Array.from(f)).toEqual([0.5, -2]);
    expect(f).not.toBe(img.data);
  });
});

describe('createRaster', () => {
  it('derives bit depth and sample format from the array type', () => {
    expect(createRaster(1, 1, 1, new Uint8Array(1))).toMatchObject({ bitDepth: 8, sampleFormat: 'uint' });
    expect(createRaster(1, 1, 1, new Uint16Array(1))).toMatchObject({ bitDepth: 16, sampleFormat: 'uint' });
    expect(createRaster(1, 1, 1, new Float32Array(1))).toMatchObject({ bitDepth: 32, sampleFormat: 'float' });
  });
});
