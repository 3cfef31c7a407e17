import { distanceTransform } from '@quorum/shared';

/**
 * Training targets that teach a network to keep touching objects apart, from instance labels (Ronneberger et al.
 * 2015, section 3): the foreground target loses a thin gap wherever two objects touch, and the cross-entropy
 * weighs the background between nearby objects up to 1 + w0, so that gap is worth learning. Either alone did not
 * help in our experiments (experiments/torch-replica/README.md); together they raised test object F1. In a binary
 * mask touching objects share one label, so neither changes anything there.
 */
export interface TouchTargets {
  /** Side of the square neighbourhood: foreground pixels with another object in it become background. 0: off. */
  gap: number;
  /** The border weight's peak (w0) and fall-off (sigma, px); null: every pixel weighs 1. */
  borderWeight: { w0: number; sigma: number } | null;
}

export const NO_TOUCH_TARGETS: TouchTargets = { gap: 0, borderWeight: null };

/** The binary foreground minus every pixel whose `size` x `size` neighbourhood (inside the image) holds another object. */
export function touchGapTarget(labels: Uint32Array, width: number, height: number, size: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const r = Math.floor(size / 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const label = labels[i]!;
      if (label === 0) continue;
      let touches = false;
      for (let ny = Math.max(0, y - r); ny <= Math.min(height - 1, y + r) && !touches; ny++) {
        for (let nx = Math.max(0, x - r); nx <= Math.min(width - 1, x + r); nx++) {
          const other = labels[ny * width + nx]!;
          if (other !== 0 && other !== label) {
            touches = true;
            break;
          }
        }
      }
      out[i] = touches ? 0 : 1;
    }
  }
  return out;
}

/**
 * Per-pixel cross-entropy weights: 1 on objects; on the background 1 + w0 exp(-(d1 + d2)^2 / (2 sigma^2)), with
 * d1 and d2 the distances to the nearest and the second-nearest object (the U-Net paper's eq. 2 without its
 * class-balance term, which the Dice term already provides). Distances beyond 4 sigma are not computed (a pixel
 * whose second-nearest object is that far weighs 1, where the exact term is below w0 e^-8), which keeps it linear
 * in the number of objects.
 */
export function borderWeights(
  labels: Uint32Array,
  width: number,
  height: number,
  { w0, sigma }: { w0: number; sigma: number },
): Float32Array {
  const reach = Math.ceil(4 * sigma);
  const boxes = labelBoxes(labels, width, height);
  const d1 = new Float64Array(width * height).fill(Number.POSITIVE_INFINITY);
  const d2 = new Float64Array(width * height).fill(Number.POSITIVE_INFINITY);
  for (const [label, box] of boxes) {
    const x0 = Math.max(0, box.x0 - reach);
    const y0 = Math.max(0, box.y0 - reach);
    const w = Math.min(width, box.x1 + 1 + reach) - x0;
    const h = Math.min(height, box.y1 + 1 + reach) - y0;
    // Distance to this object: the transform of "not this object" inside a window that holds all of it.
    const notObject = new Uint8Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) notObject[y * w + x] = labels[(y0 + y) * width + x0 + x] === label ? 0 : 1;
    const d = distanceTransform({ width: w, height: h, data: notObject }).data;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y0 + y) * width + x0 + x;
        const v = d[y * w + x]!;
        if (v < d1[i]!) {
          d2[i] = d1[i]!;
          d1[i] = v;
        } else if (v < d2[i]!) d2[i] = v;
      }
    }
  }
  const out = new Float32Array(width * height);
  const twoSigma2 = 2 * sigma * sigma;
  for (let i = 0; i < out.length; i++) {
    const s = d1[i]! + d2[i]!;
    out[i] = labels[i] !== 0 || !Number.isFinite(s) ? 1 : 1 + w0 * Math.exp(-(s * s) / twoSigma2);
  }
  return out;
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function labelBoxes(labels: Uint32Array, width: number, height: number): Map<number, Box> {
  const boxes = new Map<number, Box>();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const label = labels[y * width + x]!;
      if (label === 0) continue;
      const b = boxes.get(label);
      if (!b) boxes.set(label, { x0: x, y0: y, x1: x, y1: y });
      else {
        if (x < b.x0) b.x0 = x;
        if (x > b.x1) b.x1 = x;
        if (y > b.y1) b.y1 = y;
      }
    }
  }
  return boxes;
}
