import { encodePng, type Segmentation } from '@quorum/shared';
import type { LoadedSample } from '../data/dataset';

/**
 * A three-panel overlay figure per image, as an RGB PNG: the normalised image with the ground-truth outline (green)
 * and the prediction's outline (magenta); the prediction filled over the image; the ensemble's uncertainty (member
 * std, black = members agree, yellow = std 0.5).
 */
function outline(mask: ArrayLike<number>, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      const edge =
        x === 0 ||
        y === 0 ||
        x === w - 1 ||
        y === h - 1 ||
        !mask[i - 1] ||
        !mask[i + 1] ||
        !mask[i - w] ||
        !mask[i + w];
      if (edge) out[i] = 1;
    }
  }
  return out;
}

export function overlayFigure(sample: LoadedSample, seg: Segmentation): Uint8Array {
  const { width: w, height: h } = sample;
  const gap = 4;
  const W = 3 * w + 2 * gap;
  const rgb = new Uint8Array(W * h * 3).fill(255);
  const truthEdge = outline(sample.mask, w, h);
  const predEdge = outline(seg.mask.data, w, h);
  const put = (panel: number, i: number, r: number, g: number, b: number) => {
    const x = i % w;
    const y = (i - x) / w;
    const o = (y * W + panel * (w + gap) + x) * 3;
    rgb[o] = r;
    rgb[o + 1] = g;
    rgb[o + 2] = b;
  };
  for (let i = 0; i < w * h; i++) {
    const v = Math.round(Math.min(1, Math.max(0, sample.image[i]!)) * 255);
    if (predEdge[i]) put(0, i, 255, 0, 255);
    else if (truthEdge[i]) put(0, i, 0, 255, 0);
    else put(0, i, v, v, v);
    if (seg.mask.data[i])
      put(1, i, Math.round(v * 0.4 + 153), Math.round(v * 0.4), Math.round(v * 0.4 + 153));
    else put(1, i, v, v, v);
    const u = Math.min(1, seg.uncertainty.std[i]! * 2);
    put(2, i, Math.round(255 * Math.min(1, 2 * u)), Math.round(255 * u), 0);
  }
  return encodePng(rgb, W, h, 3);
}
