import {
  encodePng,
  type LabelImage,
  type ObjectClasses,
  type Segmentation,
  type TruthClass,
} from '@quorum/shared';
import type { LoadedSample } from '../data/dataset';

/**
 * A three-panel overlay figure per image, as an RGB PNG: the normalised image with the true objects' outlines
 * (green) and the predicted objects' outlines (magenta), internal boundaries between touching objects included;
 * each true object filled with the colour of its error class (ERROR_COLOURS), spurious predictions in magenta and
 * the predicted objects' outlines in white, so merges and misses show where they happen; the ensemble's
 * uncertainty (member std, black = members agree, yellow = std 0.5).
 */
export const ERROR_COLOURS: Record<TruthClass | 'spurious', readonly [number, number, number]> = {
  matched: [0, 200, 0],
  merged: [255, 140, 0],
  split: [0, 160, 255],
  missed: [255, 0, 0],
  misfit: [255, 230, 0],
  spurious: [255, 0, 255],
};

/** The legend the report prints under the figures. */
export const OVERLAY_LEGEND =
  'Overlay figures: left, image with true (green) and predicted (magenta) object outlines; middle, each true ' +
  'object coloured by its error class (green matched, orange merged, blue split, red missed, yellow misfit), ' +
  'spurious predictions magenta, predicted outlines white; right, member std (black = agreement).';

/** Pixels of an object whose 4-neighbour lies outside it (the image border, background or another object). */
function labelEdges(labels: LabelImage): Uint8Array {
  const { width: w, height: h, data } = labels;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const v = data[i]!;
      if (!v) continue;
      const edge =
        x === 0 ||
        y === 0 ||
        x === w - 1 ||
        y === h - 1 ||
        data[i - 1] !== v ||
        data[i + 1] !== v ||
        data[i - w] !== v ||
        data[i + w] !== v;
      if (edge) out[i] = 1;
    }
  }
  return out;
}

/** Per pixel, the fill colour of the error panel (null: none), from the classes of the objects under it. */
function errorFill(
  truth: LabelImage,
  seg: Segmentation,
  classes: ObjectClasses,
): (i: number) => readonly [number, number, number] | null {
  const truthClass = new Map(classes.truth.map((t) => [t.id, t.class]));
  const spurious = new Set(classes.spurious);
  return (i) => {
    const t = truth.data[i]!;
    if (t) return ERROR_COLOURS[truthClass.get(t)!];
    return spurious.has(seg.labels.data[i]!) ? ERROR_COLOURS.spurious : null;
  };
}

/** `truth` and `classes`: the image's true objects and their error classes, as evaluate measured them. */
export function overlayFigure(
  sample: LoadedSample,
  seg: Segmentation,
  truth: LabelImage,
  classes: ObjectClasses,
): Uint8Array {
  const { width: w, height: h } = sample;
  const gap = 4;
  const W = 3 * w + 2 * gap;
  const rgb = new Uint8Array(W * h * 3).fill(255);
  const truthEdge = labelEdges(truth);
  const predEdge = labelEdges(seg.labels);
  const fill = errorFill(truth, seg, classes);
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
    const c = fill(i);
    if (predEdge[i]) put(1, i, 255, 255, 255);
    else if (c) put(1, i, ...blend(c, v));
    else put(1, i, v, v, v);
    const u = Math.min(1, seg.uncertainty.std[i]! * 2);
    put(2, i, Math.round(255 * Math.min(1, 2 * u)), Math.round(255 * u), 0);
  }
  return encodePng(rgb, W, h, 3);
}

/** A class colour over the image's grey value, so the nucleus stays visible under it. */
function blend(c: readonly [number, number, number], v: number): [number, number, number] {
  return [
    Math.round(c[0] * 0.6 + v * 0.4),
    Math.round(c[1] * 0.6 + v * 0.4),
    Math.round(c[2] * 0.6 + v * 0.4),
  ];
}
