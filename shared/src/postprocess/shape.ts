/**
 * Shape measurements of every object of a label image, given its per-pixel slots (label-index.ts) and centroids:
 * second central moments (the equivalent ellipse) and the digital perimeter. Definitions follow scikit-image's
 * `regionprops` (0.19), so numbers agree with the tool most analysis notebooks use.
 */
export interface ShapeMoments {
  /** Central second moments per object, normalised by area: var(x), var(y), cov(x, y), in pixels^2. */
  xx: Float64Array;
  yy: Float64Array;
  xy: Float64Array;
}

/** Second central moments, accumulated around the known centroids (no cancellation for large coordinates). */
export function centralMoments(
  slots: Int32Array,
  width: number,
  areas: Uint32Array,
  centroidX: Float64Array,
  centroidY: Float64Array,
): ShapeMoments {
  const k = areas.length;
  const xx = new Float64Array(k);
  const yy = new Float64Array(k);
  const xy = new Float64Array(k);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (s < 0) continue;
    const dx = (i % width) - centroidX[s]!;
    const dy = Math.floor(i / width) - centroidY[s]!;
    xx[s]! += dx * dx;
    yy[s]! += dy * dy;
    xy[s]! += dx * dy;
  }
  for (let s = 0; s < k; s++) {
    xx[s]! /= areas[s]!;
    yy[s]! /= areas[s]!;
    xy[s]! /= areas[s]!;
  }
  return { xx, yy, xy };
}

/** The ellipse with the same second moments: axis lengths (4 sigma, as regionprops), eccentricity, angle. */
export interface Ellipse {
  majorAxisLength: number;
  minorAxisLength: number;
  /** 0 for a circle, towards 1 for a line. */
  eccentricity: number;
  /**
   * Angle of the major axis from the image's x axis in degrees, counter-clockwise as the image is displayed
   * (rows run down), in (-90, 90]: regionprops' `orientation` (radians, from the row axis) plus 90 degrees, modulo
   * 180. 0 for objects without a major axis (a disc, a single pixel).
   */
  orientation: number;
}

export function equivalentEllipse(xx: number, yy: number, xy: number): Ellipse {
  const mean = (xx + yy) / 2;
  const spread = Math.hypot((xx - yy) / 2, xy);
  const l1 = mean + spread;
  const l2 = Math.max(0, mean - spread);
  // Clockwise as displayed is counter-clockwise in (x right, y down) coordinates, hence the minus sign.
  let orientation = spread === 0 ? 0 : (-0.5 * Math.atan2(2 * xy, xx - yy) * 180) / Math.PI;
  if (orientation <= -90) orientation += 180;
  if (Object.is(orientation, -0)) orientation = 0;
  return {
    majorAxisLength: 4 * Math.sqrt(l1),
    minorAxisLength: 4 * Math.sqrt(l2),
    eccentricity: l1 === 0 ? 0 : Math.sqrt(1 - l2 / l1),
    orientation,
  };
}

/**
 * scikit-image's `perimeter(region, neighbourhood=4)`, per object: a pixel is on the border when one of its four
 * neighbours belongs to another object, the background or lies outside the image; each border pixel adds a length
 * chosen by which of its eight neighbours are border pixels of the same object (straight runs 1, diagonal steps
 * sqrt 2, corners (1 + sqrt 2) / 2; isolated pixels and line ends 0).
 */
export function perimeters(slots: Int32Array, width: number, height: number, objects: number): Float64Array {
  const border = new Uint8Array(slots.length);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      border[i] =
        x === 0 ||
        y === 0 ||
        x === width - 1 ||
        y === height - 1 ||
        slots[i - 1] !== s ||
        slots[i + 1] !== s ||
        slots[i - width] !== s ||
        slots[i + width] !== s
          ? 1
          : 0;
    }
  }
  const out = new Float64Array(objects);
  const same = (i: number, s: number) => border[i] === 1 && slots[i] === s;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      if (border[i] !== 1) continue;
      const s = slots[i]!;
      const up = y > 0;
      const down = y < height - 1;
      const left = x > 0;
      const right = x < width - 1;
      let code = 1;
      if (left && same(i - 1, s)) code += 2;
      if (right && same(i + 1, s)) code += 2;
      if (up && same(i - width, s)) code += 2;
      if (down && same(i + width, s)) code += 2;
      if (up && left && same(i - width - 1, s)) code += 10;
      if (up && right && same(i - width + 1, s)) code += 10;
      if (down && left && same(i + width - 1, s)) code += 10;
      if (down && right && same(i + width + 1, s)) code += 10;
      out[s]! += PERIMETER_WEIGHTS[code]!;
    }
  }
  return out;
}

/** scikit-image's weights for the convolution codes 1 + 2 * (4-neighbours) + 10 * (diagonal neighbours). */
const PERIMETER_WEIGHTS = (() => {
  const w = new Float64Array(50);
  for (const c of [5, 7, 15, 17, 25, 27]) w[c] = 1;
  for (const c of [21, 33]) w[c] = Math.SQRT2;
  for (const c of [13, 23]) w[c] = (1 + Math.SQRT2) / 2;
  return w;
})();
