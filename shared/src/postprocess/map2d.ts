import { QuorumInputError } from '../errors';

/** A 2-D map stored row-major: the value at column x, row y is `data[y * width + x]`. */
export interface Map2D<T extends ArrayLike<number>> {
  readonly width: number;
  readonly height: number;
  readonly data: T;
}

/** Binary mask: 1 is foreground, 0 background. Readers treat any nonzero byte as foreground; writers emit 0/1. */
export type Mask = Map2D<Uint8Array>;
/** Foreground probability per pixel, in [0, 1]. */
export type ProbabilityMap = Map2D<Float32Array>;
/** Per-pixel intensity (an image channel, or an uncertainty map), any float scale. */
export type FloatMap = Map2D<Float32Array>;
/** Instance labels: 0 is background, every other value one object. Ids need not be contiguous. */
export type LabelImage = Map2D<Uint16Array | Uint32Array>;
/** What Quorum produces internally: 32-bit labels never overflow for any image that fits in memory. */
export type LabelImage32 = Map2D<Uint32Array>;
/** Compact labels for storage and display (at most 65535 objects). */
export type LabelImage16 = Map2D<Uint16Array>;

/** Pixel adjacency for objects: 8 joins diagonal neighbours (scikit-image's connectivity=2), 4 does not (=1). */
export type Connectivity = 4 | 8;

export function sizeOf(map: Map2D<ArrayLike<number>>): string {
  return `${map.width}x${map.height}`;
}

/** Checks that `map` is internally consistent: integer dimensions and `data.length === width * height`. */
export function checkMap(map: Map2D<ArrayLike<number>>, subject: string): void {
  const { width, height } = map;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new QuorumInputError(
      'invalid-value',
      subject,
      `has size ${width}x${height}; want non-negative integers`,
    );
  }
  if (map.data.length !== width * height) {
    throw new QuorumInputError(
      'mismatch',
      subject,
      `is ${sizeOf(map)} (${width * height} pixels) but holds ${map.data.length} values`,
    );
  }
}

/** Checks both maps and that they have the same size; the error names both maps and both sizes. */
export function checkSameSize(
  a: Map2D<ArrayLike<number>>,
  aName: string,
  b: Map2D<ArrayLike<number>>,
  bName: string,
): void {
  checkMap(a, aName);
  checkMap(b, bName);
  if (a.width !== b.width || a.height !== b.height) {
    throw new QuorumInputError('mismatch', bName, `is ${sizeOf(b)} but ${aName} is ${sizeOf(a)}`);
  }
}

/** Checks a value that is used as a pixel count: a finite non-negative integer. */
export function checkCount(value: number, subject: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new QuorumInputError('invalid-value', subject, `is ${value}; want a non-negative integer`);
  }
}

export function checkConnectivity(connectivity: number): asserts connectivity is Connectivity {
  if (connectivity !== 4 && connectivity !== 8) {
    throw new QuorumInputError('invalid-value', 'connectivity', `is ${connectivity}; want 4 or 8`);
  }
}

/** Largest label id the 16-bit form can hold. */
export const MAX_LABEL_16 = 65535;

/**
 * Narrows labels to 16 bits for storage or display. Throws 'too-large' when an id exceeds 65535 rather than
 * wrapping, which would silently merge objects; relabel sequentially first if the ids are sparse.
 */
export function toUint16Labels(labels: LabelImage): LabelImage16 {
  checkMap(labels, 'labels');
  const src = labels.data;
  if (src instanceof Uint16Array) return { width: labels.width, height: labels.height, data: src.slice() };
  let max = 0;
  for (let i = 0; i < src.length; i++) if (src[i]! > max) max = src[i]!;
  if (max > MAX_LABEL_16) {
    throw new QuorumInputError(
      'too-large',
      'labels',
      `have ids up to ${max}, but 16-bit labels hold at most ${MAX_LABEL_16} objects; keep them as Uint32`,
    );
  }
  return { width: labels.width, height: labels.height, data: Uint16Array.from(src) };
}

/** Widens labels to 32 bits (always a copy). */
export function toUint32Labels(labels: LabelImage): LabelImage32 {
  checkMap(labels, 'labels');
  return { width: labels.width, height: labels.height, data: Uint32Array.from(labels.data) };
}

/** A 0/1 mask as 0/255 grey pixels, for an 8-bit mask image a viewer shows as black and white. */
export function maskToGrey(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] !== 0 ? 255 : 0;
  return out;
}

/** Foreground of a label image as a 0/1 mask. */
export function labelsToMask(labels: LabelImage): Mask {
  checkMap(labels, 'labels');
  const src = labels.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
  return { width: labels.width, height: labels.height, data: out };
}
