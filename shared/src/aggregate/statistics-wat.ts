/**
 * The member-statistics module as WebAssembly text (assembled into statistics-binary.ts by
 * scripts/build-wasm-kernels.ts). `stats(src, m, n, w, out, t)`: for m member maps of n float32 probabilities
 * each, back to back at byte `src` (n even), and their m float64 weights at byte `w`, writes four float32 maps back
 * to back at byte `out`: the weighted mean, the weighted mean of squares, the weighted vote fraction (members above
 * t) and the max. Two pixels at a time in float64 lanes, members innermost, with exactly the operations and order of
 * statistics.ts's JS loop (w x, then (w x) x, a weight added where x > t, the max by comparison from 0), so the
 * results are identical to the bit; JS spends about 15 ns per member and pixel on that loop, this about 1.
 */
export function statisticsWat(): string {
  const zero = '(v128.const i64x2 0 0)';
  const store = (k: number, acc: string) =>
    `(v128.store64_lane 0 (i32.add (local.get $out) (i32.add (local.get $p) (i32.mul (i32.const ${k}) (local.get $bytes)))) (f32x4.demote_f64x2_zero (local.get ${acc})))`;
  return `(module
  (memory (export "memory") 1)
  (func (export "stats") (param $src i32) (param $m i32) (param $n i32) (param $w i32) (param $out i32) (param $t f64)
    (local $p i32) (local $k i32) (local $at i32) (local $bytes i32) (local $wk v128) (local $x v128) (local $wx v128)
    (local $tv v128) (local $mean v128) (local $sq v128) (local $vote v128) (local $max v128)
    (local.set $tv (f64x2.splat (local.get $t)))
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $p (i32.const 0))
    (block $done (loop $pixels
      (br_if $done (i32.ge_u (local.get $p) (local.get $bytes)))
      (local.set $mean ${zero}) (local.set $sq ${zero}) (local.set $vote ${zero}) (local.set $max ${zero})
      (local.set $at (i32.add (local.get $src) (local.get $p)))
      (local.set $k (i32.const 0))
      (block $mdone (loop $members
        (br_if $mdone (i32.ge_u (local.get $k) (local.get $m)))
        (local.set $x (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $at))))
        (local.set $wk (v128.load64_splat (i32.add (local.get $w) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $wx (f64x2.mul (local.get $wk) (local.get $x)))
        (local.set $mean (f64x2.add (local.get $mean) (local.get $wx)))
        (local.set $sq (f64x2.add (local.get $sq) (f64x2.mul (local.get $wx) (local.get $x))))
        (local.set $vote (f64x2.add (local.get $vote) (v128.and (local.get $wk) (f64x2.gt (local.get $x) (local.get $tv)))))
        (local.set $max (v128.bitselect (local.get $x) (local.get $max) (f64x2.gt (local.get $x) (local.get $max))))
        (local.set $at (i32.add (local.get $at) (local.get $bytes)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $members)))
      ${store(0, '$mean')}
      ${store(1, '$sq')}
      ${store(2, '$vote')}
      ${store(3, '$max')}
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (br $pixels)))
  )
)`;
}
