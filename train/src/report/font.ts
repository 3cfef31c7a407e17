/**
 * A 3x5 pixel font for labelling report figures without a font renderer (uppercase, digits, a little
 * punctuation; lowercase is drawn as uppercase). Each glyph is 5 rows of 3 bits, most significant bit left.
 */
const GLYPHS: Record<string, number[]> = {
  A: [2, 5, 7, 5, 5],
  B: [6, 5, 6, 5, 6],
  C: [3, 4, 4, 4, 3],
  D: [6, 5, 5, 5, 6],
  E: [7, 4, 6, 4, 7],
  F: [7, 4, 6, 4, 4],
  G: [3, 4, 5, 5, 3],
  H: [5, 5, 7, 5, 5],
  I: [7, 2, 2, 2, 7],
  J: [1, 1, 1, 5, 2],
  K: [5, 5, 6, 5, 5],
  L: [4, 4, 4, 4, 7],
  M: [5, 7, 7, 5, 5],
  N: [6, 5, 5, 5, 5],
  O: [2, 5, 5, 5, 2],
  P: [6, 5, 6, 4, 4],
  Q: [2, 5, 5, 6, 3],
  R: [6, 5, 6, 5, 5],
  S: [3, 4, 2, 1, 6],
  T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7],
  V: [5, 5, 5, 5, 2],
  W: [5, 5, 7, 7, 5],
  X: [5, 5, 2, 5, 5],
  Y: [5, 5, 2, 2, 2],
  Z: [7, 1, 2, 4, 7],
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [6, 1, 2, 4, 7],
  '3': [6, 1, 2, 1, 6],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 6, 1, 6],
  '6': [3, 4, 7, 5, 7],
  '7': [7, 1, 2, 2, 2],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 6],
  ' ': [0, 0, 0, 0, 0],
  '.': [0, 0, 0, 0, 2],
  ',': [0, 0, 0, 2, 4],
  '-': [0, 0, 7, 0, 0],
  '(': [1, 2, 2, 2, 1],
  ')': [4, 2, 2, 2, 4],
  ':': [0, 2, 0, 2, 0],
  '+': [0, 2, 7, 2, 0],
  '/': [1, 1, 2, 4, 4],
  '=': [0, 7, 0, 7, 0],
  '%': [5, 1, 2, 4, 5],
};

export const GLYPH_WIDTH = 4; // 3 pixels + 1 spacing
export const GLYPH_HEIGHT = 5;

/** Draw `text` into an RGB buffer of width `w` at (x, y), each font pixel a `scale` x `scale` square. */
export function drawText(
  rgb: Uint8Array,
  w: number,
  x: number,
  y: number,
  text: string,
  color: [number, number, number],
  scale = 2,
): void {
  const h = rgb.length / 3 / w;
  let cx = x;
  for (const ch of text.toUpperCase()) {
    const glyph = GLYPHS[ch] ?? GLYPHS[' ']!;
    for (let row = 0; row < 5; row++) {
      for (let col = 0; col < 3; col++) {
        if (!((glyph[row]! >> (2 - col)) & 1)) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = cx + col * scale + dx;
            const py = y + row * scale + dy;
            if (px < 0 || py < 0 || px >= w || py >= h) continue;
            rgb.set(color, (py * w + px) * 3);
          }
        }
      }
    }
    cx += GLYPH_WIDTH * scale;
  }
}
