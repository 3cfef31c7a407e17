import { checkMap, type Mask } from './map2d';

/**
 * Fills holes: background regions that do not reach the image border become foreground. Background is connected
 * 4-wise (as scipy's `binary_fill_holes` with its default structure), so a diagonal gap in a nucleus outline does
 * not let the outside leak in: 8-connected foreground outlines and 4-connected background are the consistent pair.
 * Iterative flood fill from the border with an explicit stack, so any image size is safe.
 */
export function fillHoles(mask: Mask): Mask {
  checkMap(mask, 'mask');
  const { width: w, height: h, data: m } = mask;
  // out starts all foreground; the flood clears the background it reaches from the border, and what it cannot
  // reach (the holes) stays foreground. out[i] === 0 doubles as the visited mark.
  const out = new Uint8Array(w * h).fill(1);
  if (w === 0 || h === 0) return { width: w, height: h, data: out };
  let stack = new Int32Array(1024);
  let top = 0;
  const visit = (i: number): void => {
    if (m[i] !== 0 || out[i] === 0) return;
    out[i] = 0;
    if (top === stack.length) {
      const grown = new Int32Array(stack.length * 2);
      grown.set(stack);
      stack = grown;
    }
    stack[top++] = i;
  };
  for (let x = 0; x < w; x++) {
    visit(x);
    visit((h - 1) * w + x);
  }
  for (let y = 0; y < h; y++) {
    visit(y * w);
    visit(y * w + w - 1);
  }
  while (top > 0) {
    const i = stack[--top]!;
    const x = i % w;
    if (x > 0) visit(i - 1);
    if (x < w - 1) visit(i + 1);
    if (i >= w) visit(i - w);
    if (i < (h - 1) * w) visit(i + w);
  }
  return { width: w, height: h, data: out };
}
