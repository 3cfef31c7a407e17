import type { PixelSize } from './calibration';

/** One typed array per sample type: 8-bit and 16-bit unsigned integers, or 32-bit IEEE floats. */
export type PixelData = Uint8Array | Uint16Array | Float32Array;

/** Bits per sample. 8 and 16 are always `'uint'`; 32 is always `'float'` (32-bit integer images are refused). */
export type BitDepth = 8 | 16 | 32;

export type SampleFormat = 'uint' | 'float';

/**
 * A decoded image, exactly as stored: no rescaling, no gamma, no colour management.
 *
 * Invariants (decoders and `createRaster` guarantee them; code that builds one by hand must keep them):
 * - `data.length === width * height * channels`, samples interleaved, rows top to bottom:
 *   sample `c` of pixel `(x, y)` is `data[(y * width + x) * channels + c]`;
 * - `data` is a `Uint8Array` when `bitDepth` is 8, a `Uint16Array` when 16, a `Float32Array` when 32;
 * - `sampleFormat` is `'float'` exactly when `bitDepth` is 32, and float data holds no NaN or infinity.
 */
export interface RasterImage {
  readonly width: number;
  readonly height: number;
  /** Samples per pixel, alpha included (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA, or n microscopy channels). */
  readonly channels: number;
  readonly bitDepth: BitDepth;
  readonly sampleFormat: SampleFormat;
  readonly data: PixelData;
  /**
   * True when the last channel is alpha (PNG grey+alpha and RGBA, palette PNGs with transparency, TIFFs whose
   * ExtraSamples tag says alpha). Absent means false: a 2- or 4-channel TIFF without that tag is n channels of
   * measurements, and channel selection must not throw one of them away as "alpha".
   */
  readonly alpha?: boolean;
  /** The physical pixel size the file declares (TIFF from ImageJ, OME-TIFF, cm resolution tags); absent when none. */
  readonly pixelSize?: PixelSize;
}

/** The container formats `decodeImage` recognizes from their first bytes. */
export type ImageFormat = 'png' | 'tiff' | 'jpeg';

export interface DecodeOptions {
  /** The file name, used as the `subject` of every error so the user sees which file was bad. */
  name?: string;
  /** 0-based page (TIFF directory) to decode; only 0 exists in PNG and JPEG. Default 0. */
  page?: number;
  /**
   * Refuse images with more than this many pixels (width x height), checked from the header before any pixel
   * data is inflated, so a hostile or mistaken file cannot exhaust memory. Default `DEFAULT_MAX_PIXELS`.
   */
  maxPixels?: number;
}
