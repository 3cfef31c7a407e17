import { QuorumInputError } from '../errors';

/**
 * A tile plan covers an image of any size with equally shaped windows, so tiles can be batched through the
 * network. Along an axis longer than the tile, windows of `tile` pixels step by `tile - 2*halo` (neighbours
 * overlap by 2*halo, which blending uses to hide seams) and the last window is flush with the image's end.
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

function axisStarts(size: number, tile: number, halo: number): { length: number; starts: number[] } {
  if (size <= tile) return { length: tile, starts: [0] };
  const stride = tile - 2 * halo;
  const starts: number[] = [];
  for (let s = 0; s + tile < size; s += stride) starts.push(s);
  starts.push(size - tile);
  return { length: tile, starts };
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
  const xs = axisStarts(width, Math.min(tile, roundUp(width, multiple)), halo);
  const ys = axisStarts(height, Math.min(tile, roundUp(height, multiple)), halo);
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
