/**
 * Hand-written types for the parts of jpeg-js and utif2 that Quorum uses.
 *
 * Why not the packages' own types: utif2's UTIF.d.ts starts with `import 'node'`, which makes tsc load all of
 * @types/node into shared/'s program, and then Buffer, process and friends type-check in code that must run in
 * a browser or worker: the isomorphism check of shared/tsconfig.json would silently stop working. Declaring the
 * modules here, for a .js file that tsc never reads (allowJs is off), keeps the package's d.ts out entirely.
 */

export interface JpegDecodeOptions {
  /** Must be true outside Node: false makes jpeg-js allocate a Node Buffer. */
  useTArray: true;
  /** false: 3 samples per pixel (RGB; grey JPEGs come out replicated), not 4 with an opaque alpha. */
  formatAsRGBA: false;
  tolerantDecoding?: boolean;
  /** Checked against the SOF header before any block is allocated (1 MP = 1,000,000 pixels). */
  maxResolutionInMP?: number;
  maxMemoryUsageInMB?: number;
}

export function decodeJpeg(
  data: Uint8Array,
  options: JpegDecodeOptions,
): { width: number; height: number; data: Uint8Array };

/**
 * A TIFF directory in utif2's shape: tag number `n` is the key `t${n}`, values are arrays. Only the fields that
 * `UTIF.decode._decompress` reads are listed.
 */
export interface UtifDirectory {
  /** BitsPerSample */
  t258: number[];
  /** SamplesPerPixel */
  t277: number[];
  /** Predictor */
  t317?: number[];
  /** true for 'II' files: utif2 then leaves 16-bit samples alone, else it swaps them to little-endian. */
  isLE: boolean;
}

export const UTIF: {
  decode: {
    /**
     * Decompresses one strip or tile `data[off, off + len)` with TIFF compression `cmpr` into `tgt` at `toff`,
     * undoes predictor 2, and byte-swaps 16-bit big-endian samples. `data` and `tgt` must each start at offset 0
     * of their ArrayBuffer (Deflate and PackBits address `data.buffer` / `tgt.buffer` directly). Internal to
     * utif2 (the package is pinned to an exact version); see tiff.ts for why the public `decodeImage` is not used.
     */
    _decompress(
      img: UtifDirectory,
      ifds: unknown[],
      data: Uint8Array,
      off: number,
      len: number,
      cmpr: number,
      tgt: Uint8Array,
      toff: number,
      fillOrder: number,
      w: number,
      h: number,
    ): void;
  };
};
