import { QuorumInputError } from '../errors';

/**
 * A tile plan covers an image of any size with equally shaped windows, so tiles can be batched through the
 * network. Along an axis longer than the tile, windows of at most `tile` pixels overlap their neighbours by at
 * least 2*halo (which blending uses to hide seams); the first is flush with the image's start, the last with its end.
 * Along an axis no longer than the tile, one window covers it, rounded up to the network's size multiple and
 * reflect-padded.
 */
export interface TilePlanOptions {
  /** Window edge for large images (a multiple of `multiple`). */
  tile: number;
  /** Overlap margin on each side of a window's core. */
  halo: number;
  /** The network's size multiple, 2^depth. */
  multiple: number;
}

export interface TileWindow {
  /** Top-left of the window in image coordinates (never negative; reflect padding only extends right/bottom). */
  x: number;
  y: number;
}

export interface TilePlan {
  width: number;
  height: number;
  /** Window size, identical for all windows. */
  tileWidth: number;
  tileHeight: number;
  halo: number;
  windows: TileWindow[];
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Windows along one axis: as few as cover it with cores of at most tile - 2*halo, each only as long as that count
 * needs (rounded up to the network's multiple), spread evenly from edge to edge. A fixed-length window would
 * leave the last one overlapping its neighbour by up to a whole tile: 2048 px with 512 px windows takes five
 * windows either way, but five of 440 px compute 26% fewer pixels than five of 512.
 */
function axisStarts(
  size: number,
  tile: number,
  halo: number,
  multiple: number,
): { length: number; starts: number[] } {
  if (size <= tile) return { length: tile, starts: [0] };
  const count = Math.ceil((size - 2 * halo) / (tile - 2 * halo));
  const length = Math.min(tile, roundUp(Math.ceil((size - 2 * halo) / count) + 2 * halo, multiple));
  // Neighbours overlap by at least 2*halo: (count-1) * (length - 2*halo) >= size - length.
  const starts = Array.from({ length: count }, (_, k) => Math.round((k * (size - length)) / (count - 1)));
  return { length, starts };
}

export function planTiles(width: number, height: number, options: TilePlanOptions): TilePlan {
  const { tile, halo, multiple } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new QuorumInputError(
      'invalid-value',
      'image',
      `size ${width}x${height} is not a positive integer size`,
    );
  }
  if (!Number.isInteger(multiple) || multiple < 1)
    throw new QuorumInputError('invalid-value', 'tiling.multiple', `${multiple}`);
  if (tile % multiple !== 0 || tile < multiple) {
    throw new QuorumInputError(
      'invalid-value',
      'tiling.tile',
      `${tile} is not a positive multiple of ${multiple}`,
    );
  }
  if (!Number.isInteger(halo) || halo < 0 || 2 * halo >= tile) {
    throw new QuorumInputError(
      'invalid-value',
      'tiling.halo',
      `must be an integer with 0 <= 2*halo < tile (got ${halo})`,
    );
  }
  // A small axis gets a smaller window (its rounded-up size) instead of a mostly padded full tile.
  const xs = axisStarts(width, Math.min(tile, roundUp(width, multiple)), halo, multiple);
  const ys = axisStarts(height, Math.min(tile, roundUp(height, multiple)), halo, multiple);
  const windows: TileWindow[] = [];
  for (const y of ys.starts) for (const x of xs.starts) windows.push({ x, y });
  return { width, height, tileWidth: xs.length, tileHeight: ys.length, halo, windows };
}

/** Reflect an out-of-range index into [0, n) (mirror without repeating the edge, like numpy's 'reflect'). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

/**
 * Copy one window of a single-channel image into `out` (tileWidth*tileHeight), reflect-padding past the image
 * edge. `out` is reused across tiles by the caller so extraction allocates nothing.
 */
export function extractWindow(
  image: Float32Array,
  plan: TilePlan,
  window: TileWindow,
  out: Float32Array = new Float32Array(plan.tileWidth * plan.tileHeight),
): Float32Array {
  const { width, height, tileWidth: tw, tileHeight: th } = plan;
  for (let ty = 0; ty < th; ty++) {
    const sy = reflectIndex(window.y + ty, height);
    const row = sy * width;
    const o = ty * tw;
    const inside = Math.min(tw, width - window.x);
    out.set(image.subarray(row + window.x, row + window.x + inside), o);
    for (let tx = inside; tx < tw; tx++) out[o + tx] = image[row + reflectIndex(window.x + tx, width)]!;
  }
  return out;
}
