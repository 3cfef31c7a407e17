import type { TiffFile } from './tiff-ifd';

/** The physical size of one pixel, as the file states it. */
export interface PixelSize {
  /** Micrometres per pixel along x (columns) and along y (rows). */
  readonly x: number;
  readonly y: number;
  /** Where it came from: ImageJ's description and resolution tags, OME-XML, TIFF's own tags in cm, or the user. */
  readonly source: 'imagej' | 'ome-xml' | 'tiff' | 'user';
}

/**
 * What one pixel is worth physically: its area in um^2, and, for square pixels (x and y within 1%), one pixel of
 * length in um; null for anisotropic pixels, where a length measured in pixels has no single physical scale.
 */
export function physicalScale(size: { x: number; y: number }): { area: number; length: number | null } {
  const square = Math.abs(size.x - size.y) <= 0.01 * Math.max(size.x, size.y);
  return { area: size.x * size.y, length: square ? Math.sqrt(size.x * size.y) : null };
}

/** For messages: '0.325 um (ImageJ metadata)', '0.2 x 0.3 um (OME-XML)'. */
export function formatPixelSize(size: PixelSize): string {
  const n = (v: number) => String(Number(v.toPrecision(4)));
  const value = size.x === size.y ? n(size.x) : `${n(size.x)} x ${n(size.y)}`;
  const from = { imagej: 'ImageJ metadata', 'ome-xml': 'OME-XML', tiff: 'TIFF resolution', user: 'given' }[
    size.source
  ];
  return `${value} um (${from})`;
}

const TAG_DESCRIPTION = 270;
const TAG_X_RESOLUTION = 282;
const TAG_Y_RESOLUTION = 283;
const TAG_RESOLUTION_UNIT = 296;
const RESOLUTION_UNIT_CM = 3;

/** Micrometres per unit, for the length units microscopy software writes (ImageJ spells micro as \u00B5 or 'micron'). */
const MICROMETRES: Readonly<Record<string, number>> = {
  nm: 1e-3,
  nanometer: 1e-3,
  nanometre: 1e-3,
  um: 1,
  µm: 1,
  μm: 1,
  '\\u00b5m': 1,
  micron: 1,
  microns: 1,
  micrometer: 1,
  micrometre: 1,
  mm: 1e3,
  millimeter: 1e3,
  millimetre: 1e3,
  cm: 1e4,
  m: 1e6,
};

/** A pixel of 0.1 nm to 1 cm: outside that, the metadata is not a microscope's calibration (or is corrupt). */
function plausible(um: number): boolean {
  return Number.isFinite(um) && um >= 1e-4 && um <= 1e4;
}

function toMicrometres(value: number, unit: string | undefined): number | undefined {
  const factor = MICROMETRES[(unit ?? '').trim().toLowerCase()];
  if (factor === undefined) return undefined;
  const um = value * factor;
  return plausible(um) ? um : undefined;
}

/**
 * The pixel size a TIFF page declares, or undefined when it declares none that means a physical length. Read
 * from, in order: OME-XML in the description (`PhysicalSizeX/Y` and their units, micrometres by default); an
 * ImageJ description's `unit=` with the resolution tags as pixels per unit; the resolution tags with
 * ResolutionUnit centimetre. Inch resolutions are ignored: they are print densities (72, 300 dpi), not a
 * microscope's calibration. Metadata is optional, so anything malformed yields undefined, never an error.
 */
export function tiffPixelSize(tiff: TiffFile, directory: number): PixelSize | undefined {
  try {
    const description = asciiTag(tiff, directory, TAG_DESCRIPTION);
    if (description?.includes('<OME')) {
      const ome = omePixelSize(description);
      if (ome) return ome;
    }
    const xRes = rationalTag(tiff, directory, TAG_X_RESOLUTION);
    const yRes = rationalTag(tiff, directory, TAG_Y_RESOLUTION) ?? xRes;
    if (xRes === undefined || yRes === undefined || !(xRes > 0) || !(yRes > 0)) return undefined;
    if (description?.startsWith('ImageJ=')) {
      const unit = /^unit=(.*)$/m.exec(description)?.[1];
      const x = toMicrometres(1 / xRes, unit);
      const y = toMicrometres(1 / yRes, unit);
      return x !== undefined && y !== undefined ? { x, y, source: 'imagej' } : undefined;
    }
    if (shortTag(tiff, directory, TAG_RESOLUTION_UNIT) === RESOLUTION_UNIT_CM) {
      const x = toMicrometres(1 / xRes, 'cm');
      const y = toMicrometres(1 / yRes, 'cm');
      return x !== undefined && y !== undefined ? { x, y, source: 'tiff' } : undefined;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** `PhysicalSizeX/Y` of the first `Pixels` element of an OME-XML document. */
export function omePixelSize(xml: string): PixelSize | undefined {
  const pixels = /<(?:\w+:)?Pixels\b[^>]*>/.exec(xml)?.[0];
  if (pixels === undefined) return undefined;
  const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(pixels)?.[1];
  const size = (axis: 'X' | 'Y') => {
    const value = Number(attr(`PhysicalSize${axis}`));
    return value > 0 ? toMicrometres(value, attr(`PhysicalSize${axis}Unit`) ?? 'µm') : undefined;
  };
  const x = size('X');
  const y = size('Y') ?? x;
  return x !== undefined && y !== undefined ? { x, y, source: 'ome-xml' } : undefined;
}

interface Entry {
  type: number;
  count: number;
  /** File offset of the values. */
  at: number;
}

function findEntry(tiff: TiffFile, directory: number, tag: number): Entry | undefined {
  const { view, littleEndian: le, bytes } = tiff;
  const count = view.getUint16(directory, le);
  for (let i = 0; i < count; i++) {
    const entry = directory + 2 + i * 12;
    if (view.getUint16(entry, le) !== tag) continue;
    const type = view.getUint16(entry + 2, le);
    const n = view.getUint32(entry + 4, le);
    const size = ({ 2: 1, 3: 2, 5: 8 } as Record<number, number>)[type];
    if (size === undefined) return undefined;
    const at = size * n <= 4 ? entry + 8 : view.getUint32(entry + 8, le);
    return at + size * n <= bytes.length ? { type, count: n, at } : undefined;
  }
  return undefined;
}

function asciiTag(tiff: TiffFile, directory: number, tag: number): string | undefined {
  const e = findEntry(tiff, directory, tag);
  if (e === undefined || e.type !== 2) return undefined;
  const raw = tiff.bytes.subarray(e.at, e.at + e.count);
  const end = raw.indexOf(0);
  return decodeUtf8(end < 0 ? raw : raw.subarray(0, end));
}

/**
 * UTF-8 to string (OME-XML is UTF-8; ImageJ writes ASCII). Written out because `shared` may use nothing beyond
 * ECMAScript (TextDecoder is a web/Node API); a malformed sequence becomes U+FFFD.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const extra = b < 0x80 ? 0 : b >= 0xf0 && b < 0xf8 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b < 0xe0 ? 1 : -1;
    let code = extra === 0 ? b : extra === 1 ? b & 0x1f : extra === 2 ? b & 0x0f : b & 0x07;
    let ok = extra >= 0 && i + extra < bytes.length;
    for (let k = 1; ok && k <= extra; k++) {
      const c = bytes[i + k]!;
      ok = (c & 0xc0) === 0x80;
      code = (code << 6) | (c & 0x3f);
    }
    if (ok && extra > 0 && (code < [0, 0x80, 0x800, 0x10000][extra]! || code > 0x10ffff)) ok = false;
    out += ok ? String.fromCodePoint(code) : '\ufffd';
    i += ok ? extra + 1 : 1;
  }
  return out;
}

function rationalTag(tiff: TiffFile, directory: number, tag: number): number | undefined {
  const e = findEntry(tiff, directory, tag);
  if (e === undefined || e.type !== 5 || e.count < 1) return undefined;
  const le = tiff.littleEndian;
  const denominator = tiff.view.getUint32(e.at + 4, le);
  return denominator === 0 ? undefined : tiff.view.getUint32(e.at, le) / denominator;
}

function shortTag(tiff: TiffFile, directory: number, tag: number): number | undefined {
  const e = findEntry(tiff, directory, tag);
  return e === undefined || e.type !== 3 || e.count < 1
    ? undefined
    : tiff.view.getUint16(e.at, tiff.littleEndian);
}
