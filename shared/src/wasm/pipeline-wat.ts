/**
 * The pipeline module as WebAssembly text (assembled into pipeline-binary.ts by scripts/build-wasm-kernels.ts): the
 * JS loops of the pipeline that cost most per pixel, each with exactly its JS counterpart's float64 operations in the
 * same order (no fused multiply-adds), so that the results are identical to the bit; two pixels per float64x2 lane
 * pair. V8 spends about 2-15 ns per pixel and term on these loops here, the module a tenth of that. Pointers are
 * byte offsets into the module's own memory, which the JS side (pipeline.ts) fills and grows.
 *
 * - stats(src, m, n, w, out, t): for m member maps of n float32 probabilities back to back at `src` (n even) and
 *   their m float64 weights at `w`, four float32 maps back to back at `out`: the weighted mean, the weighted mean of
 *   squares, the weighted vote fraction (members above t) and the max (statistics.ts's memberStatistics: w x, then
 *   (w x) x, a weight added where x > t, the max by comparison from 0; float64 sums rounded once).
 * - blur_rows(p, prow, w, taps, k, out, rows): for `rows` rows of float64 at `p` (`prow` bytes apart, each padded
 *   so that no index needs reflecting), out[x] = sum over j < taps of k[j] p[x + j], x < w (w even), rows of w values
 *   at `out` (gaussian.ts's row pass: the taps in kernel order from a zero sum).
 * - blur_cols(t, w, taps, k, out, rows): out row y = sum over j < taps of k[j] (row y + j of t), rows of w values
 *   (w even): gaussian.ts's column pass.
 */
export function pipelineWat(): string {
  const zero = '(v128.const i64x2 0 0)';
  const store = (k: number, acc: string) =>
    `(v128.store64_lane 0 (i32.add (local.get $out) (i32.add (local.get $p) (i32.mul (i32.const ${k}) (local.get $bytes)))) (f32x4.demote_f64x2_zero (local.get ${acc})))`;
  /** `body` for $i from 0 while below `end` (bytes), stepping by `step`. */
  const loop = (i: string, end: string, step: number, body: string) => `(local.set ${i} (i32.const 0))
    (block ${i}done (loop ${i}loop
      (br_if ${i}done (i32.ge_u (local.get ${i}) ${end}))
      ${body}
      (local.set ${i} (i32.add (local.get ${i}) (i32.const ${step})))
      (br ${i}loop)))`;
  /** $acc = sum over $j < $taps of k[j] * (f64x2 at $at + $j * $stride), from zero. */
  const taps = (stride: string) => `(local.set $acc ${zero})
        ${loop(
          '$j',
          '(local.get $taps)',
          1,
          `(local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (v128.load64_splat (i32.add (local.get $k) (i32.shl (local.get $j) (i32.const 3)))) (v128.load (i32.add (local.get $at) (i32.mul (local.get $j) ${stride}))))))`,
        )}`;
  /**
   * One pass of the blur: for `rows` rows of w float64 at $src (the next row `next` bytes on), out[x] = the taps'
   * sum of the values `tapStride` bytes apart from $src + 8 x, rows of w values at $out.
   */
  const blurPass = (
    name: string,
    params: string,
    next: string,
    tapStride: string,
  ) => `(func (export "${name}") ${params} (param $taps i32) (param $k i32) (param $out i32) (param $rows i32)
    (local $r i32) (local $x i32) (local $j i32) (local $at i32) (local $acc v128) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $w) (i32.const 3)))
    ${loop(
      '$r',
      '(local.get $rows)',
      1,
      `${loop(
        '$x',
        '(local.get $bytes)',
        16,
        `(local.set $at (i32.add (local.get $src) (local.get $x)))
        ${taps(tapStride)}
        (v128.store (i32.add (local.get $out) (local.get $x)) (local.get $acc))`,
      )}
      (local.set $src (i32.add (local.get $src) ${next}))
      (local.set $out (i32.add (local.get $out) (local.get $bytes)))`,
    )}
  )`;
  return `(module
  (memory (export "memory") 1)
  (func (export "stats") (param $src i32) (param $m i32) (param $n i32) (param $w i32) (param $out i32) (param $t f64)
    (local $p i32) (local $k i32) (local $at i32) (local $bytes i32) (local $wk v128) (local $x v128) (local $wx v128)
    (local $tv v128) (local $mean v128) (local $sq v128) (local $vote v128) (local $max v128)
    (local.set $tv (f64x2.splat (local.get $t)))
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    ${loop(
      '$p',
      '(local.get $bytes)',
      8,
      `(local.set $mean ${zero}) (local.set $sq ${zero}) (local.set $vote ${zero}) (local.set $max ${zero})
      (local.set $at (i32.add (local.get $src) (local.get $p)))
      ${loop(
        '$k',
        '(local.get $m)',
        1,
        `(local.set $x (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $at))))
        (local.set $wk (v128.load64_splat (i32.add (local.get $w) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $wx (f64x2.mul (local.get $wk) (local.get $x)))
        (local.set $mean (f64x2.add (local.get $mean) (local.get $wx)))
        (local.set $sq (f64x2.add (local.get $sq) (f64x2.mul (local.get $wx) (local.get $x))))
        (local.set $vote (f64x2.add (local.get $vote) (v128.and (local.get $wk) (f64x2.gt (local.get $x) (local.get $tv)))))
        (local.set $max (v128.bitselect (local.get $x) (local.get $max) (f64x2.gt (local.get $x) (local.get $max))))
        (local.set $at (i32.add (local.get $at) (local.get $bytes)))`,
      )}
      ${store(0, '$mean')}
      ${store(1, '$sq')}
      ${store(2, '$vote')}
      ${store(3, '$max')}`,
    )}
  )
  ${blurPass('blur_rows', '(param $src i32) (param $prow i32) (param $w i32)', '(local.get $prow)', '(i32.const 8)')}
  ${blurPass('blur_cols', '(param $src i32) (param $w i32)', '(local.get $bytes)', '(local.get $bytes)')}
)`;
}
