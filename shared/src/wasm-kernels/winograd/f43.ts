/**
 * The transforms of Winograd F(4x4, 3x3) (Lavin & Gray, 2016) as WebAssembly text, for the 'forward4' module
 * (wat.ts), which shares the zero-bordered copy, the matrix products and the driver with F(2x2, 3x3). Per 4x4
 * output block and input channel it multiplies 36 times where F(2x2, 3x3) multiplies 64 (4 blocks of 16), at the
 * price of transforms with constant factors (4, 5, 2, 8) instead of bare sums, and about 10x F(2x2)'s rounding
 * error (still ~1e-6 of the output scale for the U-Net's activations; tests: 1e-4).
 *
 *   B^T = [4  0 -5  0 1 0]   G = [ 1/4     0    0]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1 1 0]       [-1/6 -1/6 -1/6]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1 1 0]       [-1/6  1/6 -1/6]         [0 1  1 4  4 0]
 *         [0 -2 -1  2 1 0]       [1/24 1/12  1/6]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2 1 0]       [1/24 -1/12 1/6]
 *         [0  4  0 -5 0 1]       [   0    0    1]
 *
 * Each 2-D transform runs as two passes of its 1-D transform through a 576-byte scratch block ($tmp): columns
 * first, then rows. Unrolled over all 36 values the two transforms would not fit the 4 KB a browser compiles
 * synchronously; looped over six columns they do, and the round trip stays in L1.
 */

const v = (name: string) => `(local.get ${name})`;
const add = (a: string, b: string) => `(f32x4.add ${a} ${b})`;
const sub = (a: string, b: string) => `(f32x4.sub ${a} ${b})`;
const mul = (a: string, b: string) => `(f32x4.mul ${a} ${b})`;
const set = (name: string, expr: string) => `(local.set ${name} ${expr})`;

/** Bytes between rows of $tmp: 6 vectors. */
const TMP_ROW = 96;

/** $o0..$o5 = B^T ($d0..$d5); needs $t1..$t4 and the splats $four, $two. */
function input1d(): string {
  const d = (i: number) => v(`$d${i}`);
  return [
    set('$t1', sub(d(4), mul(d(2), v('$four')))),
    set('$t2', sub(d(3), mul(d(1), v('$four')))),
    set('$o0', add(v('$t1'), sub(mul(d(0), v('$four')), d(2)))),
    set('$o1', add(v('$t1'), v('$t2'))),
    set('$o2', sub(v('$t1'), v('$t2'))),
    set('$t3', sub(d(4), d(2))),
    set('$t4', mul(sub(d(3), d(1)), v('$two'))),
    set('$o3', add(v('$t3'), v('$t4'))),
    set('$o4', sub(v('$t3'), v('$t4'))),
    set('$o5', add(mul(sub(d(1), d(3)), v('$four')), sub(d(5), d(3)))),
  ].join('\n          ');
}

/** $o0..$o3 = A^T ($d0..$d5); needs $t1..$t4 and the splats $two, $four, $eight. */
function output1d(): string {
  const d = (i: number) => v(`$d${i}`);
  return [
    set('$t1', add(d(1), d(2))),
    set('$t2', sub(d(1), d(2))),
    set('$t3', add(d(3), d(4))),
    set('$t4', sub(d(3), d(4))),
    set('$o0', add(add(d(0), v('$t1')), v('$t3'))),
    set('$o1', add(v('$t2'), mul(v('$t4'), v('$two')))),
    set('$o2', add(v('$t1'), mul(v('$t3'), v('$four')))),
    set('$o3', add(add(v('$t2'), mul(v('$t4'), v('$eight'))), d(5))),
  ].join('\n          ');
}

const LOCALS_1D = `${[0, 1, 2, 3, 4, 5].map((i) => `(local $d${i} v128) (local $o${i} v128)`).join(' ')}
    (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $t4 v128)
    (local $two v128) (local $four v128) (local $eight v128)`;
const SPLATS = `(local.set $two (f32x4.splat (f32.const 2)))
    (local.set $four (f32x4.splat (f32.const 4)))
    (local.set $eight (f32x4.splat (f32.const 8)))`;

/** One counted loop: `$i` from 0 while below `end`, stepping by `step`. */
function loop(i: string, end: string, step: number, body: string): string {
  return `(local.set ${i} (i32.const 0))
      (block ${i}done (loop ${i}loop
        (br_if ${i}done (i32.ge_u (local.get ${i}) ${end}))
        ${body}
        (local.set ${i} (i32.add (local.get ${i}) (i32.const ${step})))
        (br ${i}loop)))`;
}

/**
 * $inT4(p, prowBytes, ci, nb, v, tmp): the input transform of nb blocks whose 6x6 patches start at padded
 * (row 4 ty, column 4 tx0 + 4 t) of the zero-bordered copy p, into V[36][tiles][ci] (k = 6 i + j).
 */
export function inputTransform43(tiles: number): string {
  return `(func $inT4 (param $p i32) (param $prowBytes i32) (param $ci i32) (param $nb i32) (param $v i32) (param $tmp i32)
    (local $t i32) (local $c i32) (local $j i32) (local $cs i32) (local $kStride i32) (local $at i32) (local $vt i32)
    ${LOCALS_1D}
    ${SPLATS}
    (local.set $cs (i32.mul (local.get $ci) (i32.const 4)))
    (local.set $kStride (i32.mul (i32.const ${tiles}) (local.get $cs)))
    ${loop(
      '$t',
      '(local.get $nb)',
      1,
      loop(
        '$c',
        '(local.get $cs)',
        16,
        `;; columns: tmp[i][j] = B^T (patch column j)
        ${loop(
          '$j',
          '(i32.const 6)',
          1,
          `(local.set $at (i32.add (i32.add (local.get $p) (i32.mul (i32.add (i32.mul (local.get $t) (i32.const 4)) (local.get $j)) (local.get $cs))) (local.get $c)))
          ${[0, 1, 2, 3, 4, 5].map((i) => set(`$d${i}`, `(v128.load ${i ? `(i32.add (local.get $at) (i32.mul (i32.const ${i}) (local.get $prowBytes)))` : '(local.get $at)'})`)).join('\n          ')}
          ${input1d()}
          (local.set $at (i32.add (local.get $tmp) (i32.mul (local.get $j) (i32.const 16))))
          ${[0, 1, 2, 3, 4, 5].map((i) => `(v128.store offset=${i * TMP_ROW} (local.get $at) (local.get $o${i}))`).join('\n          ')}`,
        )}
        ;; rows: V[6 i + j] = B^T (tmp row i)
        (local.set $vt (i32.add (i32.add (local.get $v) (i32.mul (local.get $t) (local.get $cs))) (local.get $c)))
        ${loop(
          '$j',
          '(i32.const 6)',
          1,
          `(local.set $at (i32.add (local.get $tmp) (i32.mul (local.get $j) (i32.const ${TMP_ROW}))))
          ${[0, 1, 2, 3, 4, 5].map((i) => set(`$d${i}`, `(v128.load offset=${i * 16} (local.get $at))`)).join('\n          ')}
          ${input1d()}
          ${[0, 1, 2, 3, 4, 5].map((i) => `(v128.store (local.get $vt) (local.get $o${i}))\n          (local.set $vt (i32.add (local.get $vt) (local.get $kStride)))`).join('\n          ')}`,
        )}`,
      ),
    )}
  )`;
}

/**
 * $outT4(m, co, nb, bias, relu, y, rowBytes, tmp): the output transform of nb blocks from M[36][tiles][co], with
 * bias (0: none) and ReLU, into the 4x4 pixels of each block at y + 4 t pixels (rows rowBytes apart).
 */
export function outputTransform43(tiles: number): string {
  return `(func $outT4 (param $m i32) (param $co i32) (param $nb i32) (param $bias i32) (param $relu i32) (param $y i32) (param $rowBytes i32) (param $tmp i32)
    (local $t i32) (local $c i32) (local $j i32) (local $os i32) (local $kStride i32) (local $at i32) (local $yb i32)
    (local $bv v128) (local $z v128)
    ${LOCALS_1D}
    ${SPLATS}
    (local.set $os (i32.mul (local.get $co) (i32.const 4)))
    (local.set $kStride (i32.mul (i32.const ${tiles}) (local.get $os)))
    ${loop(
      '$t',
      '(local.get $nb)',
      1,
      loop(
        '$c',
        '(local.get $os)',
        16,
        `(local.set $bv (if (result v128) (local.get $bias) (then (v128.load (i32.add (local.get $bias) (local.get $c)))) (else (local.get $z))))
        ;; columns: tmp[a][j] = A^T (M column j)
        ${loop(
          '$j',
          '(i32.const 6)',
          1,
          `(local.set $at (i32.add (i32.add (local.get $m) (i32.mul (i32.add (local.get $t) (i32.mul (local.get $j) (i32.const ${tiles}))) (local.get $os))) (local.get $c)))
          ${[0, 1, 2, 3, 4, 5].map((i) => `${set(`$d${i}`, '(v128.load (local.get $at))')}\n          (local.set $at (i32.add (local.get $at) (i32.mul (local.get $kStride) (i32.const 6))))`).join('\n          ')}
          ${output1d()}
          (local.set $at (i32.add (local.get $tmp) (i32.mul (local.get $j) (i32.const 16))))
          ${[0, 1, 2, 3].map((a) => `(v128.store offset=${a * TMP_ROW} (local.get $at) (local.get $o${a}))`).join('\n          ')}`,
        )}
        ;; rows: pixel row a of the block = A^T (tmp row a) + bias
        (local.set $yb (i32.add (i32.add (local.get $y) (i32.mul (i32.mul (local.get $t) (i32.const 4)) (local.get $os))) (local.get $c)))
        ${loop(
          '$j',
          '(i32.const 4)',
          1,
          `(local.set $at (i32.add (local.get $tmp) (i32.mul (local.get $j) (i32.const ${TMP_ROW}))))
          ${[0, 1, 2, 3, 4, 5].map((i) => set(`$d${i}`, `(v128.load offset=${i * 16} (local.get $at))`)).join('\n          ')}
          ${output1d()}
          ${[0, 1, 2, 3].map((b) => set(`$o${b}`, add(v(`$o${b}`), v('$bv')))).join('\n          ')}
          (if (local.get $relu) (then
            ${[0, 1, 2, 3].map((b) => set(`$o${b}`, `(f32x4.max (local.get $o${b}) (local.get $z))`)).join('\n            ')}))
          (local.set $at (i32.add (local.get $yb) (i32.mul (local.get $j) (local.get $rowBytes))))
          ${[0, 1, 2, 3].map((b) => `(v128.store (local.get $at) (local.get $o${b}))\n          (local.set $at (i32.add (local.get $at) (local.get $os)))`).join('\n          ')}`,
        )}`,
      ),
    )}
  )`;
}

/** $o0..$o5 = G ($d0..$d2), F(4x4, 3x3)'s filter transform in one dimension; needs $t1..$t3 and $q4, $q6, $q12, $q24. */
function filter1d(): string {
  const d = (i: number) => v(`$d${i}`);
  return [
    set('$t1', add(d(0), d(2))),
    set('$o0', mul(d(0), v('$q4'))),
    set('$o1', `(f32x4.neg ${mul(add(v('$t1'), d(1)), v('$q6'))})`),
    set('$o2', mul(sub(d(1), v('$t1')), v('$q6'))),
    set('$t2', add(mul(d(0), v('$q24')), mul(d(2), v('$q6')))),
    set('$t3', mul(d(1), v('$q12'))),
    set('$o3', add(v('$t2'), v('$t3'))),
    set('$o4', sub(v('$t2'), v('$t3'))),
    set('$o5', d(2)),
  ].join('\n          ');
}

/**
 * filter43(g, pairs, u, tmp): U = G g G^T for every (input, output) channel pair of a 3x3 filter g [3][3][pairs]
 * (HWIO, pairs = ci x co, a multiple of 4), into u [36][pairs] (position 6 i + j), 4 pairs per vector, in float32
 * (the JS transform it replaced took 50 ms per member in float64; training transforms every filter at every step).
 * tmp: 288 bytes of scratch.
 */
export function filterTransform43(): string {
  return `(func (export "filter43") (param $g i32) (param $pairs i32) (param $u i32) (param $tmp i32)
    (local $p i32) (local $j i32) (local $ps i32) (local $at i32)
    ${[0, 1, 2, 3, 4, 5].map((i) => `(local $d${i} v128) (local $o${i} v128)`).join(' ')}
    (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $q4 v128) (local $q6 v128) (local $q12 v128) (local $q24 v128)
    (local.set $q4 (f32x4.splat (f32.const 0.25)))
    (local.set $q6 (f32x4.splat (f32.const ${1 / 6})))
    (local.set $q12 (f32x4.splat (f32.const ${1 / 12})))
    (local.set $q24 (f32x4.splat (f32.const ${1 / 24})))
    (local.set $ps (i32.mul (local.get $pairs) (i32.const 4)))
    ${loop(
      '$p',
      '(local.get $ps)',
      16,
      `;; columns: tmp[i][c] = G (g column c)
        ${loop(
          '$j',
          '(i32.const 3)',
          1,
          `(local.set $at (i32.add (i32.add (local.get $g) (i32.mul (local.get $j) (local.get $ps))) (local.get $p)))
          ${[0, 1, 2].map((r) => set(`$d${r}`, `(v128.load ${r ? `(i32.add (local.get $at) (i32.mul (i32.const ${3 * r}) (local.get $ps)))` : '(local.get $at)'})`)).join('\n          ')}
          ${filter1d()}
          (local.set $at (i32.add (local.get $tmp) (i32.mul (local.get $j) (i32.const 16))))
          ${[0, 1, 2, 3, 4, 5].map((i) => `(v128.store offset=${i * 48} (local.get $at) (local.get $o${i}))`).join('\n          ')}`,
        )}
        ;; rows: u[6 i + j] = G (tmp row i)
        ${loop(
          '$j',
          '(i32.const 6)',
          1,
          `(local.set $at (i32.add (local.get $tmp) (i32.mul (local.get $j) (i32.const 48))))
          ${[0, 1, 2].map((c) => set(`$d${c}`, `(v128.load offset=${c * 16} (local.get $at))`)).join('\n          ')}
          ${filter1d()}
          (local.set $at (i32.add (i32.add (local.get $u) (i32.mul (i32.mul (local.get $j) (i32.const 6)) (local.get $ps))) (local.get $p)))
          ${[0, 1, 2, 3, 4, 5].map((j) => `(v128.store (local.get $at) (local.get $o${j}))\n          (local.set $at (i32.add (local.get $at) (local.get $ps)))`).join('\n          ')}`,
        )}`,
    )}
  )`;
}
