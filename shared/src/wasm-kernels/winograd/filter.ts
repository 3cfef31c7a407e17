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
