/**
 * U = G g G^T for every (input, output) channel pair of a 3x3 filter g in HWIO order, laid out [16][ci][co]: the
 * filter half of F(2x2, 3x3). Separable, as G g (4x3) then (G g) G^T (4x4).
 */
export function winogradFilter(g: Float32Array, ci: number, co: number): Float32Array {
  const u = new Float32Array(16 * ci * co);
  const pairs = ci * co;
  const gg = new Float64Array(12);
  for (let p = 0; p < pairs; p++) {
    // g[r][c] for this pair is g[(r * 3 + c) * pairs + p].
    for (let c = 0; c < 3; c++) {
      const g0 = g[c * pairs + p]!;
      const g1 = g[(3 + c) * pairs + p]!;
      const g2 = g[(6 + c) * pairs + p]!;
      gg[c] = g0;
      gg[3 + c] = 0.5 * (g0 + g1 + g2);
      gg[6 + c] = 0.5 * (g0 - g1 + g2);
      gg[9 + c] = g2;
    }
    for (let i = 0; i < 4; i++) {
      const r0 = gg[i * 3]!;
      const r1 = gg[i * 3 + 1]!;
      const r2 = gg[i * 3 + 2]!;
      u[i * 4 * pairs + p] = r0;
      u[(i * 4 + 1) * pairs + p] = 0.5 * (r0 + r1 + r2);
      u[(i * 4 + 2) * pairs + p] = 0.5 * (r0 - r1 + r2);
      u[(i * 4 + 3) * pairs + p] = r2;
    }
  }
  return u;
}

/** F(4x4, 3x3)'s G (6x3), rows of [g0, g1, g2] weights (see f43.ts). */
const G43: readonly (readonly [number, number, number])[] = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];

/**
 * U = G g G^T of F(4x4, 3x3) for every (input, output) channel pair of a 3x3 filter g in HWIO order, laid out
 * [36][ci][co] (position 6 i + j), computed in float64 and rounded once.
 */
export function winogradFilter43(g: Float32Array, ci: number, co: number): Float32Array {
  const u = new Float32Array(36 * ci * co);
  const pairs = ci * co;
  const gg = new Float64Array(18);
  for (let p = 0; p < pairs; p++) {
    // gg = G g (6x3); g[r][c] for this pair is g[(r * 3 + c) * pairs + p].
    for (let i = 0; i < 6; i++) {
      const [a, b, c] = G43[i]!;
      for (let col = 0; col < 3; col++)
        gg[i * 3 + col] =
          a * g[col * pairs + p]! + b * g[(3 + col) * pairs + p]! + c * g[(6 + col) * pairs + p]!;
    }
    // u = (G g) G^T (6x6)
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) {
        const [a, b, c] = G43[j]!;
        u[(i * 6 + j) * pairs + p] = a * gg[i * 3]! + b * gg[i * 3 + 1]! + c * gg[i * 3 + 2]!;
      }
  }
  return u;
}
