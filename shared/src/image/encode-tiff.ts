import { QuorumInputError } from '../errors';
import { createRaster } from './raster';

/**
 * A minimal baseline TIFF writer for single-channel outputs (label maps, probability maps), because utif2's
 * encoder only writes 8-bit RGBA. Uncompressed, one strip, one page: every TIFF reader opens it, and the
 * samples are written as stored, so a float32 probability map round-trips bit for bit.
 *
 * Layout: 8-byte header, the directory at offset 8, the two resolution rationals, then the samples at an
 * 8-byte aligned offset. The byte order mark is the host's, so the samples are copied without conversion.
 */
export function encodeTiff(
  data: Uint8Array | Uint16Array | Float32Array,
  width: number,
  height: number,
): Uint8Array {
  const image = createRaster(width, height, 1, data); // validates type, size and length
  if (image.sampleFormat === 'float') {
    // decodeImage refuses NaN and infinity; never write a file that Quorum would then refuse to read.
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new QuorumInputError(
        'invalid-value',
        'image',
        `cannot write ${data[bad]} at sample ${bad} to a TIFF`,
      );
    }
  }
  const sampleBytes = image.bitDepth / 8;
  const dataLength = width * height * sampleBytes;

  type Entry = readonly [tag: number, type: number, value: number];
  const SHORT = 3;
  const LONG = 4;
  const RATIONAL = 5;
  const entryCount = 14;
  const ifdLength = 2 + entryCount * 12 + 4;
  const xResolutionAt = 8 + ifdLength;
  const yResolutionAt = xResolutionAt + 8;
  const dataAt = Math.ceil((yResolutionAt + 8) / 8) * 8;
  const fileLength = dataAt + dataLength;
  if (fileLength > 0xffffffff) {
    throw new QuorumInputError(
      'too-large',
      'image',
      `${fileLength} bytes is over the 4 GiB limit of classic TIFF`,
    );
  }
  // Tags in ascending order, as TIFF requires.
  const entries: Entry[] = [
    [256, LONG, width], // ImageWidth
    [257, LONG, height], // ImageLength
    [258, SHORT, image.bitDepth], // BitsPerSample
    [259, SHORT, 1], // Compression: none
    [262, SHORT, 1], // PhotometricInterpretation: BlackIsZero
    [273, LONG, dataAt], // StripOffsets
    [277, SHORT, 1], // SamplesPerPixel
    [278, LONG, height], // RowsPerStrip: the whole image
    [279, LONG, dataLength], // StripByteCounts
    [282, RATIONAL, xResolutionAt], // XResolution (required by baseline TIFF; 1/1, no unit)
    [283, RATIONAL, yResolutionAt], // YResolution
    [284, SHORT, 1], // PlanarConfiguration: interleaved
    [296, SHORT, 1], // ResolutionUnit: none
    [339, SHORT, image.sampleFormat === 'float' ? 3 : 1], // SampleFormat: IEEE float or unsigned integer
  ];

  const out = new Uint8Array(fileLength);
  const view = new DataView(out.buffer);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  out[0] = out[1] = le ? 0x49 : 0x4d; // 'II' or 'MM'
  view.setUint16(2, 42, le);
  view.setUint32(4, 8, le);
  view.setUint16(8, entryCount, le);
  entries.forEach(([tag, type, value], i) => {
    const at = 10 + i * 12;
    view.setUint16(at, tag, le);
    view.setUint16(at + 2, type, le);
    view.setUint32(at + 4, 1, le);
    // A SHORT value is left-justified in the 4-byte field, whatever the byte order.
    if (type === SHORT) view.setUint16(at + 8, value, le);
    else view.setUint32(at + 8, value, le);
  });
  view.setUint32(10 + entryCount * 12, 0, le); // no next directory
  for (const at of [xResolutionAt, yResolutionAt]) {
    view.setUint32(at, 1, le);
    view.setUint32(at + 4, 1, le);
  }
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataAt);
  return out;
}
