// Damaged files must give either an image or a QuorumInputError: never another exception, never a hang.
// Deterministic by default; set QUORUM_FUZZ_SEED / QUORUM_FUZZ_RUNS for a longer local campaign
// (300,000 cases across all fixtures ran clean when this was written).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isQuorumInputError } from '../src/errors';
import { countPages, decodeImage, type RasterImage } from '../src/image';
import { fixture } from './fixtures/images/patterns';

const FILES = [
  'png-gray16.png',
  'png-rgba8.png',
  'png-palette.png',
  'png-gray1.png',
  'tiff-u16-lzw.tif',
  'tiff-u8-lzw-strips.tif',
  'tiff-u16-deflate-pred-be.tif',
  'tiff-u16-tiled.tif',
  'tiff-u8-packbits.tif',
  'tiff-f32-none-be.tif',
  'tiff-u16-pages-lzw.tif',
  'jpeg-rgb.jpg',
  'jpeg-rgb-progressive.jpg',
  'jpeg-gray.jpg',
];
const BYTES = FILES.map(fixture);

/** A damaged copy: cut to a random length, or 1-4 bytes replaced (half of them within the first 256 bytes,
 * where the headers, directories and tables that steer the decoders live). */
const damaged = fc
  .record({
    file: fc.integer({ min: 0, max: FILES.length - 1 }),
    cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { freq: 2 }),
    flips: fc.array(
      fc.record({
        where: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        head: fc.boolean(),
        value: fc.nat(255),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  })
  .map(({ file, cut, flips }) => {
    const original = BYTES[file]!;
    if (cut !== null)
      return { name: FILES[file]!, bytes: original.slice(0, Math.floor(cut * original.length)) };
    const bytes = original.slice();
    for (const { where, head, value } of flips) {
      bytes[Math.floor(where * (head ? Math.min(256, bytes.length) : bytes.length))] = value;
    }
    return { name: FILES[file]!, bytes };
  });

function expectValid(img: RasterImage): void {
  expect(img.data.length).toBe(img.width * img.height * img.channels);
  expect(img.width * img.height).toBeLessThanOrEqual(4096);
  const Type = { 8: Uint8Array, 16: Uint16Array, 32: Float32Array }[img.bitDepth];
  expect(img.data).toBeInstanceOf(Type);
  if (img.sampleFormat === 'float') expect(img.data.every(Number.isFinite)).toBe(true);
}

function outcome(run: () => unknown, name: string): void {
  try {
    run();
  } catch (e) {
    if (!isQuorumInputError(e)) throw e; // the property fails, and fast-check prints the damaged file
    expect(e.subject).toBe(name);
  }
}

describe('decoding damaged files (fast-check)', () => {
  it('yields an image or a QuorumInputError naming the file', () => {
    const seed = Number(process.env['QUORUM_FUZZ_SEED'] ?? 20261127);
    const numRuns = Number(process.env['QUORUM_FUZZ_RUNS'] ?? 600);
    const start = performance.now();
    fc.assert(
      fc.property(damaged, ({ name, bytes }) => {
        // A small pixel limit keeps every case fast: a flipped size byte otherwise asks for megapixels.
        outcome(() => expectValid(decodeImage(bytes, { name, maxPixels: 4096 })), name);
        outcome(() => countPages(bytes, name), name);
      }),
      { seed, numRuns },
    );
    if (numRuns <= 600) expect(performance.now() - start).toBeLessThan(10_000);
  });
});
