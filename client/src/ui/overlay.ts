import type { EngineResult } from '../engine/types';

/** What the result canvas shows over the image. */
export type OverlayMode = 'mask' | 'uncertainty' | 'none';

/** Mask fill and outline colours (RGB), chosen to read on a dark fluorescence background. */
const FILL: readonly [number, number, number] = [0, 200, 255];
const EDGE: readonly [number, number, number] = [255, 220, 0];
/** The selected object (picked in the image or the table): a strong magenta, unlike any other overlay colour. */
const SELECTED: readonly [number, number, number] = [255, 0, 200];

/**
 * Paints the input (grey, as the network saw it) with the chosen overlay into `canvas`, at the image's own size
 * (CSS scales it). Object outlines are pixels whose 4-neighbourhood leaves the object, so touching nuclei with
 * different ids stay apart.
 */
export function renderOverlay(
  canvas: HTMLCanvasElement,
  result: Pick<EngineResult, 'width' | 'height' | 'display' | 'mask' | 'labels' | 'uncertainty'>,
  mode: OverlayMode,
  /** An object id to mark (in the mask mode), e.g. the table's selected row. */
  selected = 0,
): void {
  const { width: w, height: h, display, labels, uncertainty } = result;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(w, h);
  const px = img.data;
  for (let i = 0, y = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const g = display[i]!;
      let r = g;
      let gg = g;
      let b = g;
      if (mode === 'mask') {
        const id = labels[i]!;
        if (id !== 0) {
          const edge =
            (x > 0 && labels[i - 1] !== id) ||
            (x < w - 1 && labels[i + 1] !== id) ||
            (y > 0 && labels[i - w] !== id) ||
            (y < h - 1 && labels[i + w] !== id);
          const c = id === selected ? SELECTED : edge ? EDGE : FILL;
          const a = edge ? 1 : id === selected ? 0.6 : 0.35;
          r = r * (1 - a) + c[0] * a;
          gg = gg * (1 - a) + c[1] * a;
          b = b * (1 - a) + c[2] * a;
        }
      } else if (mode === 'uncertainty') {
        // std of member probabilities is at most 0.5: map 0..0.5 to a black-red-yellow ramp over dimmed grey.
        const u = Math.min(1, uncertainty[i]! * 2);
        r = g * 0.3 + 255 * Math.min(1, u * 2);
        gg = g * 0.3 + 255 * Math.max(0, u * 2 - 1);
        b = g * 0.3;
      }
      const o = i * 4;
      px[o] = r;
      px[o + 1] = gg;
      px[o + 2] = b;
      px[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}
