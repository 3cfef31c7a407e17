/**
 * The WebAssembly text of Quorum's 3x3 convolution kernels: Winograd F(2x2, 3x3) (Lavin & Gray, 2016) over NHWC
 * float32, stride 1, 'same' zero padding, in 128-bit SIMD. The forward multiplies 16 instead of 36 times per 2x2
 * output block and input channel, with bias and ReLU fused; XNNPACK's WASM build has no Winograd path, and on the
 * U-Net's 3x3 layers this is 1.6-3.2x faster than the stock FusedConv2D on one thread (train/bench/kernels.ts).
 *
 * Forward module, conv3x3(x, n, h, w, ci, co, u, bias, relu, y, scratch): per image, the input is copied into a
 * zero-bordered scratch copy; then for each row of output blocks, groups of BLOCK_TILES blocks go through the input
 * transform (B^T d B, 4 channels per vector) into V[16][tile][ci], sixteen small matrix products M[k] = V[k] U[k]
 * (4 tiles x 8 output channels held in registers), and the output transform (A^T m A) with bias (0: none) and ReLU,
 * straight into y. U = G g G^T, the transformed filter, is prepared by the caller (filter.ts).
 *
 * Forward4 module: the same driver, matrix products and conv3x3 signature with F(4x4, 3x3)'s transforms (f43.ts):
 * 36 products per 4x4 output block and input channel where F(2x2, 3x3) takes 64; on the default member's forward
 * (4 tiles of 256 x 256) 0.78x F(2x2)'s time. Needs the height a multiple of 4 and the width of 16 (conv3x3.ts
 * sends other sizes to the F(2x2) module).
 *
 * Gradient module: filter_grad(x, dy, n, h, w, ci, co, dw, scratch), F(3x3, 2x2) summed over every block in the
 * transformed domain; patch_grad(x, dy, n, h, w, ci, co, s, oh, ow, dw), the filter gradient of s x s windows that
 * do not overlap. All arguments are byte addresses into the imported memory or sizes.
 *
 * Rounding differs from a direct convolution by about 1e-6 relative (tests: 1e-4 of the output scale), and a
 * non-finite input spreads to every output of the 2x2 blocks whose 4x4 input patch holds it, where a direct
 * convolution would spare some: inputs here are normalised images and finite activations.
 *
 * Needs: input channels a multiple of 4, output channels a multiple of 8 (conv3x3.ts pads other counts with
 * zeros), height even, width a multiple of 2 * 4 (whole groups of 4 blocks; other sizes go to the stock kernel).
 * Generated as text so the unrolled transforms stay readable; scripts/build-wasm-kernels.ts assembles it.
 */

import { filterTransform43, inputTransform43, outputTransform43 } from './f43';

/**
 * The 4 x 8 register block both matrix products keep (the forward's M = V U and the gradient's M += V^T Y):
 * $c0..$c7, two vectors for each of 4 rows, read and written at $mb + row * $os.
 */
const BLOCK_ROWS = [0, 1, 2, 3] as const;
const BLOCK_LOCALS = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `(local $c${i} v128)`).join(' ');
const rowAddress = (q: number) => `(i32.add (local.get $mb) (i32.mul (i32.const ${q}) (local.get $os)))`;
const storeBlock = () =>
  BLOCK_ROWS.map(
    (q) => `(v128.store ${rowAddress(q)} (local.get $c${2 * q}))
          (v128.store offset=16 ${rowAddress(q)} (local.get $c${2 * q + 1}))`,
  ).join('\n          ');
const loadBlock = () =>
  BLOCK_ROWS.map(
    (q) => `(local.set $c${2 * q} (v128.load ${rowAddress(q)}))
          (local.set $c${2 * q + 1} (v128.load offset=16 ${rowAddress(q)}))`,
  ).join('\n          ');
/**
 * acc + a x b: with `fma`, relaxed SIMD's f32x4.relaxed_madd (one fused multiply-add where the processor has it,
 * rounded once; 2.1x the throughput of the multiply and add pair in this block's loop on this project's AMD EPYC);
 * else the baseline SIMD pair, rounded twice.
 */
const multiplyAdd = (fma: boolean, acc: string, a: string, b: string) =>
  fma
    ? `(f32x4.relaxed_madd (local.get ${a}) (local.get ${b}) (local.get ${acc}))`
    : `(f32x4.add (local.get ${acc}) (f32x4.mul (local.get ${a}) (local.get ${b})))`;
/** Row q of the block += splat(the float at `splatAt(q)`) x (`x0`, `x1`). */
const multiplyAddBlock = (fma: boolean, splatAt: (q: number) => string, x0: string, x1: string) =>
  BLOCK_ROWS.map(
    (q) => `(local.set $s (v128.load32_splat ${splatAt(q)}))
            (local.set $c${2 * q} ${multiplyAdd(fma, `$c${2 * q}`, '$s', x0)})
            (local.set $c${2 * q + 1} ${multiplyAdd(fma, `$c${2 * q + 1}`, '$s', x1)})`,
  ).join('\n            ');

/** Copies image $img of $x into its zero-bordered copy $p (needs locals $img $inBytes, params $x $h $w $ci). */
const PAD_IMAGE =
  '(call $pad (i32.add (local.get $x) (i32.mul (local.get $img) (local.get $inBytes))) (local.get $h) (local.get $w) (local.get $ci) (local.get $p) (i32.const 0) (i32.add (local.get $h) (i32.const 2)))';

/**
 * The forward drivers' strip: padded rows m $ty .. m $ty + m + 1 of image $img (the m + 2 rows block row $ty's
 * patches read) into $p, so the zero-bordered input is never written whole: the strip stays in cache between the
 * copy and the transform (needs locals $img $inBytes $ty, params $x $h $w $ci).
 */
const padStrip = (m: number) =>
  `(call $pad (i32.add (local.get $x) (i32.mul (local.get $img) (local.get $inBytes))) (local.get $h) (local.get $w) (local.get $ci) (local.get $p) (i32.mul (local.get $ty) (i32.const ${m})) (i32.const ${m + 2}))`;

/**
 * The loops both drivers share: for each image ($img < $n), `padImage` (the gradient's whole zero-bordered copy in
 * $p); for each row of output blocks ($ty), `padRow` (the forward's strip), then for each group of up to `group`
 * blocks from block column $tx ($nb of them), `body`.
 * Needs locals $img $ty $tx $nb $tw $p $prowBytes $inBytes and params $x $n $h $w $ci.
 */
function overBlockGroups(
  group: number,
  body: string,
  {
    padImage = PAD_IMAGE,
    padRow = '',
    shift = 1,
  }: { padImage?: string; padRow?: string; shift?: number } = {},
): string {
  return `(local.set $img (i32.const 0))
    (block $ndone (loop $imgs
      (br_if $ndone (i32.ge_u (local.get $img) (local.get $n)))
      ${padImage}
      (local.set $ty (i32.const 0))
      (block $tydone (loop $tys
        (br_if $tydone (i32.ge_u (local.get $ty) (i32.shr_u (local.get $h) (i32.const ${shift}))))
        ${padRow}
        (local.set $tx (i32.const 0))
        (block $txdone (loop $txs
          (br_if $txdone (i32.ge_u (local.get $tx) (local.get $tw)))
          (local.set $nb (select (i32.const ${group}) (i32.sub (local.get $tw) (local.get $tx)) (i32.le_u (i32.const ${group}) (i32.sub (local.get $tw) (local.get $tx)))))${body}
          (local.set $tx (i32.add (local.get $tx) (i32.const ${group})))
          (br $txs)))
        (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
        (br $tys)))
      (local.set $img (i32.add (local.get $img) (i32.const 1)))
      (br $imgs)))`;
}

/** Address in the whole padded copy $p of the input patch of block group ($ty, $tx) of 2x2 output blocks. */
const patchAddress =
  '(i32.add (i32.add (local.get $p) (i32.mul (i32.mul (local.get $ty) (i32.const 2)) (local.get $prowBytes))) (i32.mul (i32.mul (i32.mul (local.get $tx) (i32.const 2)) (local.get $ci)) (i32.const 4)))';

/** Output blocks (2x2 pixels each) per group through the three stages; V and M hold one group. */
export const BLOCK_TILES = 8;
/**
 * Blocks per group in each forward module: F(4x4)'s 36 transformed planes make its V and M 2.25x F(2x2)'s per block,
 * so its groups hold 4 blocks (V and M stay in L1: the member's forward 0.93-0.98x the time of groups of 8, 16 were
 * 1.02-1.11x slower per layer).
 */
const groupTiles = (part: ForwardPart) => (part === 'forward4' ? 4 : BLOCK_TILES);

/** Tiles per group in the filter gradient, which sums over every tile: longer groups, fewer passes over M. */
export const GRADIENT_TILES = 32;

/** Bytes of scratch memory filter_grad needs for one call. */
export function gradientScratchBytes(h: number, w: number, ci: number, co: number): number {
  return ((h + 2) * (w + 2) * ci + 16 * GRADIENT_TILES * (ci + co) + 16 * ci * co) * 4;
}

/** Output block size (m of F(m x m, 3x3)) of each forward module: 'forward' F(2x2, 3x3), 'forward4' F(4x4, 3x3). */
export const FORWARD_BLOCK = { forward: 2, forward4: 4 } as const;
export type ForwardPart = keyof typeof FORWARD_BLOCK;

/** Transformed values per block: (m + 2)^2. */
const transformSize = (m: number) => (m + 2) * (m + 2);

/** Floats of a forward module's transformed filter for ci x co channels: [(m + 2)^2][ci][co]. */
export const transformedFilterFloats = (part: ForwardPart, ci: number, co: number) =>
  transformSize(FORWARD_BLOCK[part]) * ci * co;

/** Bytes of scratch memory a forward module's conv3x3 needs for one call (F(4x4) adds its 576-byte $tmp). */
export function scratchBytes(w: number, ci: number, co: number, part: ForwardPart = 'forward'): number {
  const m = FORWARD_BLOCK[part];
  // The input's zero-bordered strip (m + 2 rows), V and M of one group, F(4x4)'s $tmp.
  return ((m + 2) * (w + 2) * ci + transformSize(m) * groupTiles(part) * (ci + co) + (m === 4 ? 144 : 0)) * 4;
}

/**
 * The modules: 3x3 convolutions (F(2x2, 3x3) and F(4x4, 3x3), and a direct one for one input channel), their filter
 * gradients, and row operations (sums, copies, pool gradients).
 */
export type WinogradPart = ForwardPart | 'direct' | 'gradient' | 'rows';

/**
 * One module's text: the forward convolution (conv3x3), the filter gradients (filter_grad, patch_grad) or the row
 * operations, each small enough (under 4 KB) for a browser to compile synchronously on any thread; `shared` for the
 * threaded WASM build, whose memory is a shared one; `fma` for runtimes with relaxed SIMD (the matrix products'
 * and direct convolutions' multiply-adds fused).
 */
export function winogradWat({
  shared,
  part,
  fma = false,
}: {
  shared: boolean;
  part: WinogradPart;
  fma?: boolean;
}): string {
  const B = part === 'forward4' ? groupTiles('forward4') : BLOCK_TILES;
  const L: string[] = [];
  // Sections of the other part are generated but not emitted.
  let emitting = true;
  const e = (s: string) => {
    if (emitting) L.push(s);
  };
  const section = (...of: (WinogradPart | 'both')[]) => {
    emitting = of.includes('both') || of.includes(part);
  };
  // The forward modules differ in their block size and transforms only.
  const m = part === 'forward4' ? 4 : 2;
  const K = transformSize(m);
  e('(module');
  e(shared ? '(import "env" "memory" (memory 1 65536 shared))' : '(import "env" "memory" (memory 1))');
  // pad: rows r0 .. r0 + rows - 1 of image x [h][w][ci]'s zero-bordered copy [(h+2)][(w+2)][ci] (padded row r is
  // image row r - 1) into p, one after the other: the whole copy with r0 = 0, rows = h + 2.
  e(`(func $pad (param $x i32) (param $h i32) (param $w i32) (param $ci i32) (param $p i32) (param $r0 i32) (param $rows i32)
    (local $rowBytes i32) (local $prow i32) (local $y i32) (local $end i32) (local $cb i32)
    (local.set $cb (i32.mul (local.get $ci) (i32.const 4)))
    (local.set $rowBytes (i32.mul (local.get $w) (local.get $cb)))
    (local.set $prow (i32.add (local.get $rowBytes) (i32.shl (local.get $cb) (i32.const 1))))
    (local.set $y (i32.sub (local.get $r0) (i32.const 1)))
    (local.set $end (i32.add (local.get $y) (local.get $rows)))
    (block $done (loop $each
      (br_if $done (i32.ge_s (local.get $y) (local.get $end)))
      (if (i32.ge_u (local.get $y) (local.get $h))
        (then (memory.fill (local.get $p) (i32.const 0) (local.get $prow)))
        (else
          (memory.fill (local.get $p) (i32.const 0) (local.get $cb))
          (memory.copy (i32.add (local.get $p) (local.get $cb)) (i32.add (local.get $x) (i32.mul (local.get $y) (local.get $rowBytes))) (local.get $rowBytes))
          (memory.fill (i32.add (i32.add (local.get $p) (local.get $cb)) (local.get $rowBytes)) (i32.const 0) (local.get $cb))))
      (local.set $p (i32.add (local.get $p) (local.get $prow)))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br $each)))
  )`);
  // input transform of nb tiles starting at padded (row 2ty, col 2tx0): V[k][t][ci], for groups of `tiles` tiles
  // ($inT: the forward's BLOCK_TILES, $inTG: the filter gradient's GRADIENT_TILES)
  for (const [name, tiles, of] of [
    ['$inT', B, 'forward'],
    ['$inTG', GRADIENT_TILES, 'gradient'],
  ] as const) {
    section(of);
    const d: string[] = [];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) d.push(`$d${i}${j}`);
    e(`(func ${name} (param $p i32) (param $prowBytes i32) (param $ci i32) (param $nb i32) (param $v i32)
    (local $t i32) (local $c i32) (local $base i32) (local $vt i32) (local $cs i32) (local $kStride i32)
    ${d.map((n) => `(local ${n} v128)`).join(' ')}
    ${[0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => `(local $a${i}${j} v128)`).join(' ')).join(' ')}
    (local.set $cs (i32.mul (local.get $ci) (i32.const 4)))
    (local.set $kStride (i32.mul (i32.const ${tiles}) (local.get $cs)))
    (local.set $t (i32.const 0))
    (block $tdone (loop $tiles
      (br_if $tdone (i32.ge_u (local.get $t) (local.get $nb)))
      (local.set $c (i32.const 0))
      (block $cdone (loop $chans
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $cs)))
        (local.set $base (i32.add (i32.add (local.get $p) (i32.mul (i32.mul (local.get $t) (i32.const 2)) (local.get $cs))) (local.get $c)))`);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        e(
          `        (local.set $d${i}${j} (v128.load (i32.add (i32.add (local.get $base) (i32.mul (i32.const ${i}) (local.get $prowBytes))) (i32.mul (i32.const ${j}) (local.get $cs)))))`,
        );
      }
    }
    // rows: a_ij = BT applied along i
    for (let j = 0; j < 4; j++) {
      e(`        (local.set $a0${j} (f32x4.sub (local.get $d0${j}) (local.get $d2${j})))`);
      e(`        (local.set $a1${j} (f32x4.add (local.get $d1${j}) (local.get $d2${j})))`);
      e(`        (local.set $a2${j} (f32x4.sub (local.get $d2${j}) (local.get $d1${j})))`);
      e(`        (local.set $a3${j} (f32x4.sub (local.get $d1${j}) (local.get $d3${j})))`);
    }
    e(
      `        (local.set $vt (i32.add (i32.add (local.get $v) (i32.mul (local.get $t) (local.get $cs))) (local.get $c)))`,
    );
    for (let i = 0; i < 4; i++) {
      const exprs = [
        `(f32x4.sub (local.get $a${i}0) (local.get $a${i}2))`,
        `(f32x4.add (local.get $a${i}1) (local.get $a${i}2))`,
        `(f32x4.sub (local.get $a${i}2) (local.get $a${i}1))`,
        `(f32x4.sub (local.get $a${i}1) (local.get $a${i}3))`,
      ];
      for (let j = 0; j < 4; j++) {
        const k = i * 4 + j;
        e(
          `        (v128.store (i32.add (local.get $vt) (i32.mul (i32.const ${k}) (local.get $kStride))) ${exprs[j]})`,
        );
      }
    }
    e(`        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $chans)))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $tiles)))
  )`);
  }
  section('forward4');
  e(inputTransform43(B));
  e(outputTransform43(B));
  e(filterTransform43());
  section('forward', 'forward4');
  // GEMM: M[k][t][co] = sum_ci V[k][t][ci] U[k][ci][co] for the K transformed positions; nb multiple of 4, co
  // multiple of 8
  e(`(func $gemm (param $v i32) (param $u i32) (param $m i32) (param $ci i32) (param $co i32) (param $nb i32)
    (local $k i32) (local $t i32) (local $cb i32) (local $ic i32) (local $vb i32) (local $ub i32) (local $mb i32)
    (local $cs i32) (local $os i32) (local $u0 v128) (local $u1 v128) (local $s v128)
    ${BLOCK_LOCALS}
    (local.set $cs (i32.mul (local.get $ci) (i32.const 4)))
    (local.set $os (i32.mul (local.get $co) (i32.const 4)))
    (local.set $k (i32.const 0))
    (block $kdone (loop $ks
      (br_if $kdone (i32.ge_u (local.get $k) (i32.const ${K})))
      (local.set $t (i32.const 0))
      (block $tdone (loop $ts
        (br_if $tdone (i32.ge_u (local.get $t) (local.get $nb)))
        (local.set $cb (i32.const 0))
        (block $cbdone (loop $cbs
          (br_if $cbdone (i32.ge_u (local.get $cb) (local.get $os)))
          ${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `(local.set $c${i} (v128.const i32x4 0 0 0 0))`).join(' ')}
          (local.set $vb (i32.add (local.get $v) (i32.mul (i32.add (i32.mul (local.get $k) (i32.const ${B})) (local.get $t)) (local.get $cs))))
          (local.set $ub (i32.add (i32.add (local.get $u) (i32.mul (i32.mul (local.get $k) (local.get $ci)) (local.get $os))) (local.get $cb)))
          (local.set $ic (i32.const 0))
          (block $idone (loop $is
            (br_if $idone (i32.ge_u (local.get $ic) (local.get $ci)))
            (local.set $u0 (v128.load (local.get $ub)))
            (local.set $u1 (v128.load offset=16 (local.get $ub)))
            ${multiplyAddBlock(fma, (q) => `(i32.add (local.get $vb) (i32.mul (i32.const ${q}) (local.get $cs)))`, '$u0', '$u1')}
            (local.set $vb (i32.add (local.get $vb) (i32.const 4)))
            (local.set $ub (i32.add (local.get $ub) (local.get $os)))
            (local.set $ic (i32.add (local.get $ic) (i32.const 1)))
            (br $is)))
          (local.set $mb (i32.add (i32.add (local.get $m) (i32.mul (i32.add (i32.mul (local.get $k) (i32.const ${B})) (local.get $t)) (local.get $os))) (local.get $cb)))
          ${storeBlock()}
          (local.set $cb (i32.add (local.get $cb) (i32.const 32)))
          (br $cbs)))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (br $ts)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $ks)))
  )`);
  section('forward');
  e(`(func $outT (param $m i32) (param $co i32) (param $nb i32) (param $bias i32) (param $relu i32) (param $y i32) (param $rowBytes i32)
    (local $t i32) (local $c i32) (local $os i32) (local $kStride i32) (local $mt i32) (local $yb i32) (local $bv v128) (local $z v128)
    ${[0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => `(local $m${i}${j} v128)`).join(' ')).join(' ')}
    ${[0, 1].map((i) => [0, 1, 2, 3].map((j) => `(local $b${i}${j} v128)`).join(' ')).join(' ')}
    (local $y00 v128) (local $y01 v128) (local $y10 v128) (local $y11 v128)
    (local.set $os (i32.mul (local.get $co) (i32.const 4)))
    (local.set $kStride (i32.mul (i32.const ${B}) (local.get $os)))
    (local.set $z (v128.const i32x4 0 0 0 0))
    (local.set $t (i32.const 0))
    (block $tdone (loop $tiles
      (br_if $tdone (i32.ge_u (local.get $t) (local.get $nb)))
      (local.set $c (i32.const 0))
      (block $cdone (loop $chans
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $os)))
        (local.set $mt (i32.add (i32.add (local.get $m) (i32.mul (local.get $t) (local.get $os))) (local.get $c)))`);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++)
      e(
        `        (local.set $m${i}${j} (v128.load (i32.add (local.get $mt) (i32.mul (i32.const ${i * 4 + j}) (local.get $kStride)))))`,
      );
  for (let j = 0; j < 4; j++) {
    e(
      `        (local.set $b0${j} (f32x4.add (f32x4.add (local.get $m0${j}) (local.get $m1${j})) (local.get $m2${j})))`,
    );
    e(
      `        (local.set $b1${j} (f32x4.sub (f32x4.sub (local.get $m1${j}) (local.get $m2${j})) (local.get $m3${j})))`,
    );
  }
  e(
    `        (local.set $bv (if (result v128) (local.get $bias) (then (v128.load (i32.add (local.get $bias) (local.get $c)))) (else (local.get $z))))`,
  );
  for (let a = 0; a < 2; a++) {
    e(
      `        (local.set $y${a}0 (f32x4.add (f32x4.add (f32x4.add (local.get $b${a}0) (local.get $b${a}1)) (local.get $b${a}2)) (local.get $bv)))`,
    );
    e(
      `        (local.set $y${a}1 (f32x4.add (f32x4.sub (f32x4.sub (local.get $b${a}1) (local.get $b${a}2)) (local.get $b${a}3)) (local.get $bv)))`,
    );
  }
  e(`        (if (local.get $relu) (then
          (local.set $y00 (f32x4.max (local.get $y00) (local.get $z)))
          (local.set $y01 (f32x4.max (local.get $y01) (local.get $z)))
          (local.set $y10 (f32x4.max (local.get $y10) (local.get $z)))
          (local.set $y11 (f32x4.max (local.get $y11) (local.get $z)))))
        (local.set $yb (i32.add (i32.add (local.get $y) (i32.mul (i32.mul (local.get $t) (i32.const 2)) (local.get $os))) (local.get $c)))
        (v128.store (local.get $yb) (local.get $y00))
        (v128.store (i32.add (local.get $yb) (local.get $os)) (local.get $y01))
        (v128.store (i32.add (local.get $yb) (local.get $rowBytes)) (local.get $y10))
        (v128.store (i32.add (i32.add (local.get $yb) (local.get $rowBytes)) (local.get $os)) (local.get $y11))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $chans)))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $tiles)))
  )`);
  section('gradient');
  // Filter gradient, F(3x3, 2x2): dW = A^T [ sum over tiles (B^T x B) . (G' dy G'^T) ] A, accumulated in M[16][ci][co].
  // The input transform is the forward's ($inTG); G' is F(3,2)'s G with its last row negated, which makes up for
  // F(2,3)'s B^T having that row negated relative to F(3,2)'s.
  {
    const G = GRADIENT_TILES;
    // dy transform of nb tiles (2x2 dy pixels each, from row 2ty, col 2tx0 of dy [h][w][co]) into Y[k][t][co]
    e(`(func $dyT (param $dy i32) (param $rowBytes i32) (param $co i32) (param $nb i32) (param $yb i32)
    (local $t i32) (local $c i32) (local $os i32) (local $kStride i32) (local $base i32) (local $yt i32) (local $half v128)
    (local $d00 v128) (local $d01 v128) (local $d10 v128) (local $d11 v128)
    ${[0, 1, 2, 3].map((i) => `(local $e${i}0 v128) (local $e${i}1 v128)`).join(' ')}
    (local.set $os (i32.mul (local.get $co) (i32.const 4)))
    (local.set $kStride (i32.mul (i32.const ${G}) (local.get $os)))
    (local.set $half (f32x4.splat (f32.const 0.5)))
    (local.set $t (i32.const 0))
    (block $tdone (loop $tiles
      (br_if $tdone (i32.ge_u (local.get $t) (local.get $nb)))
      (local.set $c (i32.const 0))
      (block $cdone (loop $chans
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $os)))
        (local.set $base (i32.add (i32.add (local.get $dy) (i32.mul (i32.mul (local.get $t) (i32.const 2)) (local.get $os))) (local.get $c)))
        (local.set $d00 (v128.load (local.get $base)))
        (local.set $d01 (v128.load (i32.add (local.get $base) (local.get $os))))
        (local.set $d10 (v128.load (i32.add (local.get $base) (local.get $rowBytes))))
        (local.set $d11 (v128.load (i32.add (i32.add (local.get $base) (local.get $rowBytes)) (local.get $os))))`);
    for (const j of [0, 1]) {
      e(`        (local.set $e0${j} (local.get $d0${j}))`);
      e(
        `        (local.set $e1${j} (f32x4.mul (f32x4.add (local.get $d0${j}) (local.get $d1${j})) (local.get $half)))`,
      );
      e(
        `        (local.set $e2${j} (f32x4.mul (f32x4.sub (local.get $d0${j}) (local.get $d1${j})) (local.get $half)))`,
      );
      e(`        (local.set $e3${j} (f32x4.neg (local.get $d1${j})))`);
    }
    e(
      `        (local.set $yt (i32.add (i32.add (local.get $yb) (i32.mul (local.get $t) (local.get $os))) (local.get $c)))`,
    );
    for (let i = 0; i < 4; i++) {
      const exprs = [
        `(local.get $e${i}0)`,
        `(f32x4.mul (f32x4.add (local.get $e${i}0) (local.get $e${i}1)) (local.get $half))`,
        `(f32x4.mul (f32x4.sub (local.get $e${i}0) (local.get $e${i}1)) (local.get $half))`,
        `(f32x4.neg (local.get $e${i}1))`,
      ];
      for (let j = 0; j < 4; j++) {
        e(
          `        (v128.store (i32.add (local.get $yt) (i32.mul (i32.const ${i * 4 + j}) (local.get $kStride))) ${exprs[j]})`,
        );
      }
    }
    e(`        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $chans)))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $tiles)))
  )`);
    // M[k][ci][co] += sum over the group's tiles of V[k][t][ci] Y[k][t][co]: 4 input x 8 output channels in registers
    // (strides in bytes: vt, yt from one tile to the next, vk, yk from one k to the next; kn values of k)
    e(`(func $gemmAcc (param $v i32) (param $vt i32) (param $vk i32) (param $yb i32) (param $yt i32) (param $yk i32)
      (param $m i32) (param $ci i32) (param $co i32) (param $nb i32) (param $kn i32)
    (local $k i32) (local $a i32) (local $cb i32) (local $t i32) (local $vb i32) (local $yp i32) (local $mb i32)
    (local $cs i32) (local $os i32) (local $y0 v128) (local $y1 v128) (local $s v128)
    ${BLOCK_LOCALS}
    (local.set $cs (i32.mul (local.get $ci) (i32.const 4)))
    (local.set $os (i32.mul (local.get $co) (i32.const 4)))
    (local.set $k (i32.const 0))
    (block $kdone (loop $ks
      (br_if $kdone (i32.ge_u (local.get $k) (local.get $kn)))
      (local.set $a (i32.const 0))
      (block $adone (loop $as
        (br_if $adone (i32.ge_u (local.get $a) (local.get $ci)))
        (local.set $cb (i32.const 0))
        (block $cbdone (loop $cbs
          (br_if $cbdone (i32.ge_u (local.get $cb) (local.get $os)))
          (local.set $mb (i32.add (i32.add (local.get $m) (i32.mul (i32.add (i32.mul (local.get $k) (local.get $ci)) (local.get $a)) (local.get $os))) (local.get $cb)))
          ${loadBlock()}
          (local.set $vb (i32.add (i32.add (local.get $v) (i32.mul (local.get $k) (local.get $vk))) (i32.mul (local.get $a) (i32.const 4))))
          (local.set $yp (i32.add (i32.add (local.get $yb) (i32.mul (local.get $k) (local.get $yk))) (local.get $cb)))
          (local.set $t (i32.const 0))
          (block $tdone (loop $ts
            (br_if $tdone (i32.ge_u (local.get $t) (local.get $nb)))
            (local.set $y0 (v128.load (local.get $yp)))
            (local.set $y1 (v128.load offset=16 (local.get $yp)))
            ${multiplyAddBlock(fma, (q) => `offset=${4 * q} (local.get $vb)`, '$y0', '$y1')}
            (local.set $vb (i32.add (local.get $vb) (local.get $vt)))
            (local.set $yp (i32.add (local.get $yp) (local.get $yt)))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $ts)))
          ${storeBlock()}
          (local.set $cb (i32.add (local.get $cb) (i32.const 32)))
          (br $cbs)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (br $as)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $ks)))
  )`);
    // dW[3][3][ci][co] = A^T m A for F(3,2): A^T = [[1,1,1,0],[0,1,-1,0],[0,1,1,1]]
    e(`(func $gradOut (param $m i32) (param $ci i32) (param $co i32) (param $dw i32)
    (local $a i32) (local $c i32) (local $os i32) (local $kStride i32) (local $mt i32) (local $wt i32) (local $tapStride i32)
    ${[0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => `(local $m${i}${j} v128)`).join(' ')).join(' ')}
    ${[0, 1, 2].map((i) => [0, 1, 2, 3].map((j) => `(local $r${i}${j} v128)`).join(' ')).join(' ')}
    (local.set $os (i32.mul (local.get $co) (i32.const 4)))
    (local.set $kStride (i32.mul (local.get $ci) (local.get $os)))
    (local.set $tapStride (local.get $kStride))
    (local.set $a (i32.const 0))
    (block $adone (loop $as
      (br_if $adone (i32.ge_u (local.get $a) (local.get $ci)))
      (local.set $c (i32.const 0))
      (block $cdone (loop $chans
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $os)))
        (local.set $mt (i32.add (i32.add (local.get $m) (i32.mul (local.get $a) (local.get $os))) (local.get $c)))`);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++)
        e(
          `        (local.set $m${i}${j} (v128.load (i32.add (local.get $mt) (i32.mul (i32.const ${i * 4 + j}) (local.get $kStride)))))`,
        );
    for (let j = 0; j < 4; j++) {
      e(
        `        (local.set $r0${j} (f32x4.add (f32x4.add (local.get $m0${j}) (local.get $m1${j})) (local.get $m2${j})))`,
      );
      e(`        (local.set $r1${j} (f32x4.sub (local.get $m1${j}) (local.get $m2${j})))`);
      e(
        `        (local.set $r2${j} (f32x4.add (f32x4.add (local.get $m1${j}) (local.get $m2${j})) (local.get $m3${j})))`,
      );
    }
    e(
      `        (local.set $wt (i32.add (i32.add (local.get $dw) (i32.mul (local.get $a) (local.get $os))) (local.get $c)))`,
    );
    for (let i = 0; i < 3; i++) {
      const exprs = [
        `(f32x4.add (f32x4.add (local.get $r${i}0) (local.get $r${i}1)) (local.get $r${i}2))`,
        `(f32x4.sub (local.get $r${i}1) (local.get $r${i}2))`,
        `(f32x4.add (f32x4.add (local.get $r${i}1) (local.get $r${i}2)) (local.get $r${i}3))`,
      ];
      for (let j = 0; j < 3; j++)
        e(
          `        (v128.store (i32.add (local.get $wt) (i32.mul (i32.const ${i * 3 + j}) (local.get $tapStride))) ${exprs[j]})`,
        );
    }
    e(`        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $chans)))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $as)))
  )`);
    e(`(func (export "filter_grad") (param $x i32) (param $dy i32) (param $n i32) (param $h i32) (param $w i32) (param $ci i32) (param $co i32)
      (param $dw i32) (param $scratch i32)
    (local $img i32) (local $p i32) (local $v i32) (local $yb i32) (local $m i32) (local $prowBytes i32) (local $ty i32) (local $tx i32)
    (local $tw i32) (local $nb i32) (local $inBytes i32) (local $dyRow i32) (local $dyBytes i32)
    (local.set $p (local.get $scratch))
    (local.set $prowBytes (i32.mul (i32.mul (i32.add (local.get $w) (i32.const 2)) (local.get $ci)) (i32.const 4)))
    (local.set $v (i32.add (local.get $p) (i32.mul (i32.add (local.get $h) (i32.const 2)) (local.get $prowBytes))))
    (local.set $yb (i32.add (local.get $v) (i32.mul (i32.const ${16 * G * 4}) (local.get $ci))))
    (local.set $m (i32.add (local.get $yb) (i32.mul (i32.const ${16 * G * 4}) (local.get $co))))
    (memory.fill (local.get $m) (i32.const 0) (i32.mul (i32.mul (i32.const 64) (local.get $ci)) (local.get $co)))
    (local.set $tw (i32.shr_u (local.get $w) (i32.const 1)))
    (local.set $inBytes (i32.mul (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $ci)) (i32.const 4)))
    (local.set $dyRow (i32.mul (i32.mul (local.get $w) (local.get $co)) (i32.const 4)))
    (local.set $dyBytes (i32.mul (local.get $h) (local.get $dyRow)))
    ${overBlockGroups(
      G,
      `
          (call $inTG
            ${patchAddress}
            (local.get $prowBytes) (local.get $ci) (local.get $nb) (local.get $v))
          (call $dyT
            (i32.add (i32.add (i32.add (local.get $dy) (i32.mul (local.get $img) (local.get $dyBytes))) (i32.mul (i32.mul (local.get $ty) (i32.const 2)) (local.get $dyRow))) (i32.mul (i32.mul (i32.mul (local.get $tx) (i32.const 2)) (local.get $co)) (i32.const 4)))
            (local.get $dyRow) (local.get $co) (local.get $nb) (local.get $yb))
          (call $gemmAcc
            (local.get $v) (i32.mul (local.get $ci) (i32.const 4)) (i32.mul (local.get $ci) (i32.const ${G * 4}))
            (local.get $yb) (i32.mul (local.get $co) (i32.const 4)) (i32.mul (local.get $co) (i32.const ${G * 4}))
            (local.get $m) (local.get $ci) (local.get $co) (local.get $nb) (i32.const 16))
`,
    )}
    (call $gradOut (local.get $m) (local.get $ci) (local.get $co) (local.get $dw))
  )`);
    // The filter gradient of a convolution whose windows do not overlap (kernel = stride = s, no padding):
    // dW[a][b][ci][co] = sum over n, i, j of x[n][s i + a][s j + b][ci] dy[n][i][j][co], one row of dy at a time.
    e(`(func (export "patch_grad") (param $x i32) (param $dy i32) (param $n i32) (param $h i32) (param $w i32)
      (param $ci i32) (param $co i32) (param $s i32) (param $oh i32) (param $ow i32) (param $dw i32)
    (local $img i32) (local $i i32) (local $a i32) (local $b i32) (local $cs i32) (local $os i32)
    (local.set $cs (i32.mul (local.get $ci) (i32.const 4)))
    (local.set $os (i32.mul (local.get $co) (i32.const 4)))
    (memory.fill (local.get $dw) (i32.const 0) (i32.mul (i32.mul (i32.mul (local.get $s) (local.get $s)) (local.get $cs)) (local.get $co)))
    (local.set $img (i32.const 0))
    (block $ndone (loop $imgs
      (br_if $ndone (i32.ge_u (local.get $img) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $idone (loop $rows
        (br_if $idone (i32.ge_u (local.get $i) (local.get $oh)))
        (local.set $a (i32.const 0))
        (block $adone (loop $as
          (br_if $adone (i32.ge_u (local.get $a) (local.get $s)))
          (local.set $b (i32.const 0))
          (block $bdone (loop $bs
            (br_if $bdone (i32.ge_u (local.get $b) (local.get $s)))
            (call $gemmAcc
              (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $img) (local.get $h))
                (i32.add (i32.mul (local.get $s) (local.get $i)) (local.get $a))) (local.get $w)) (local.get $b)) (local.get $cs)))
              (i32.mul (local.get $s) (local.get $cs)) (i32.const 0)
              (i32.add (local.get $dy) (i32.mul (i32.mul (i32.add (i32.mul (local.get $img) (local.get $oh)) (local.get $i)) (local.get $ow)) (local.get $os)))
              (local.get $os) (i32.const 0)
              (i32.add (local.get $dw) (i32.mul (i32.mul (i32.add (i32.mul (local.get $a) (local.get $s)) (local.get $b)) (local.get $cs)) (local.get $co)))
              (local.get $ci) (local.get $co) (local.get $ow) (i32.const 1))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $bs)))
          (local.set $a (i32.add (local.get $a) (i32.const 1)))
          (br $as)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
      (local.set $img (i32.add (local.get $img) (i32.const 1)))
      (br $imgs)))
  )`);
  }
  section('forward', 'forward4');
  // pad_up: rows r0 .. r0 + rows - 1 (as $pad's) of the zero-bordered copy of the channel concatenation [skip,
  // depth-to-space(up)] without either: skip [h][w][cs], up [h/2][w/2][2][2][cu] (a 2x2 stride-2 transposed
  // convolution's 1x1 result), cs and cu multiples of 4.
  e(`(func $pad_up (param $skip i32) (param $cs i32) (param $up i32) (param $h i32) (param $w i32) (param $ci i32) (param $p i32)
    (param $r0 i32) (param $rows i32)
    (local $prow i32) (local $row i32) (local $y i32) (local $x i32) (local $d i32) (local $src i32) (local $end i32)
    (local $csB i32) (local $cuB i32) (local $upRow i32) (local $last i32)
    (local.set $csB (i32.mul (local.get $cs) (i32.const 4)))
    (local.set $cuB (i32.sub (i32.mul (local.get $ci) (i32.const 4)) (local.get $csB)))
    (local.set $prow (i32.mul (i32.mul (i32.add (local.get $w) (i32.const 2)) (local.get $ci)) (i32.const 4)))
    (local.set $y (i32.sub (local.get $r0) (i32.const 1)))
    (local.set $last (i32.add (local.get $y) (local.get $rows)))
    (local.set $row (local.get $p))
    (block $ydone (loop $ys
      (br_if $ydone (i32.ge_s (local.get $y) (local.get $last)))
      (block $next
      (if (i32.ge_u (local.get $y) (local.get $h))
        (then (memory.fill (local.get $row) (i32.const 0) (local.get $prow)) (br $next)))
      (memory.fill (local.get $row) (i32.const 0) (i32.mul (local.get $ci) (i32.const 4)))
      (memory.fill (i32.sub (i32.add (local.get $row) (local.get $prow)) (i32.mul (local.get $ci) (i32.const 4))) (i32.const 0) (i32.mul (local.get $ci) (i32.const 4)))
      ;; up row y/2, sub-row y%2: pixel x/2's 2x2 block, entry (y%2, x%2)
      (local.set $upRow (i32.add (i32.add (local.get $up) (i32.mul (i32.mul (i32.shr_u (local.get $y) (i32.const 1)) (i32.shr_u (local.get $w) (i32.const 1))) (i32.shl (local.get $cuB) (i32.const 2)))) (i32.mul (i32.and (local.get $y) (i32.const 1)) (i32.shl (local.get $cuB) (i32.const 1)))))
      (local.set $d (i32.add (local.get $row) (i32.mul (local.get $ci) (i32.const 4))))
      (local.set $x (i32.const 0))
      (block $xdone (loop $xs
        (br_if $xdone (i32.ge_u (local.get $x) (local.get $w)))
        (local.set $src (i32.add (local.get $skip) (i32.mul (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x)) (local.get $csB))))
        (local.set $end (i32.add (local.get $src) (local.get $csB)))
        (loop $cps
          (v128.store (local.get $d) (v128.load (local.get $src)))
          (local.set $d (i32.add (local.get $d) (i32.const 16)))
          (local.set $src (i32.add (local.get $src) (i32.const 16)))
          (br_if $cps (i32.lt_u (local.get $src) (local.get $end))))
        (local.set $src (i32.add (local.get $upRow) (i32.add (i32.mul (i32.shr_u (local.get $x) (i32.const 1)) (i32.shl (local.get $cuB) (i32.const 2))) (i32.mul (i32.and (local.get $x) (i32.const 1)) (local.get $cuB)))))
        (local.set $end (i32.add (local.get $src) (local.get $cuB)))
        (loop $cpu
          (v128.store (local.get $d) (v128.load (local.get $src)))
          (local.set $d (i32.add (local.get $d) (i32.const 16)))
          (local.set $src (i32.add (local.get $src) (i32.const 16)))
          (br_if $cpu (i32.lt_u (local.get $src) (local.get $end))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $xs))))
      (local.set $row (i32.add (local.get $row) (local.get $prow)))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br $ys)))
  )`);
  section('direct');
  // conv3x3_c1: a 3x3 'same' convolution of a one-channel image, computed directly (with one input channel the
  // Winograd transforms cost more than they save, and padding it to 4 channels quadruples the work): per 4 output
  // pixels of a row and 8 output channels, 9 taps x 2 filter vectors, each loaded once for the 4 pixels, and 4 x 2
  // multiply-adds, from the raw filter g [3][3][1][co], co a multiple of 8. Needs w >= 4: a row's last group starts
  // at w - 4 (overlapping the one before it, whose pixels it recomputes identically). The image goes through the
  // same zero-bordered copy as the Winograd path.
  {
    const PX = [0, 1, 2, 3];
    const ACC = PX.flatMap((q) => [`$a${2 * q}`, `$a${2 * q + 1}`]);
    e(`(func (export "conv3x3_c1") (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $co i32)
      (param $g i32) (param $bias i32) (param $relu i32) (param $y i32) (param $scratch i32)
    (local $img i32) (local $row i32) (local $col i32) (local $c i32) (local $prow i32) (local $os i32) (local $gt i32)
    (local $r i32) (local $dy i32) (local $out i32) (local $imgOut i32)
    (local $s v128) (local $t0 v128) (local $t1 v128) (local $b0 v128) (local $b1 v128) (local $z v128)
    ${ACC.map((a) => `(local ${a} v128)`).join(' ')}
    (local.set $prow (i32.mul (i32.add (local.get $w) (i32.const 2)) (i32.const 4)))
    (local.set $os (i32.mul (local.get $co) (i32.const 4)))
    (local.set $img (i32.const 0))
    (block $ndone (loop $imgs
      (br_if $ndone (i32.ge_u (local.get $img) (local.get $n)))
      (call $pad (i32.add (local.get $x) (i32.mul (i32.mul (i32.mul (local.get $img) (local.get $h)) (local.get $w)) (i32.const 4))) (local.get $h) (local.get $w) (i32.const 1) (local.get $scratch) (i32.const 0) (i32.add (local.get $h) (i32.const 2)))
      (local.set $imgOut (i32.add (local.get $y) (i32.mul (i32.mul (i32.mul (local.get $img) (local.get $h)) (local.get $w)) (local.get $os))))
      (local.set $row (i32.const 0))
      (block $rdone (loop $rows
        (br_if $rdone (i32.ge_u (local.get $row) (local.get $h)))
        (local.set $col (i32.const 0))
        (block $cdone (loop $cols
          (br_if $cdone (i32.ge_u (local.get $col) (local.get $w)))
          ;; the row's last group ends at its last pixel
          (if (i32.gt_u (i32.add (local.get $col) (i32.const 4)) (local.get $w))
            (then (local.set $col (i32.sub (local.get $w) (i32.const 4)))))
          (local.set $out (i32.add (local.get $imgOut) (i32.mul (i32.add (i32.mul (local.get $row) (local.get $w)) (local.get $col)) (local.get $os))))
          (local.set $c (i32.const 0))
          (block $chdone (loop $chans
            (br_if $chdone (i32.ge_u (local.get $c) (local.get $os)))
            (if (local.get $bias)
              (then
                (local.set $b0 (v128.load (i32.add (local.get $bias) (local.get $c))))
                (local.set $b1 (v128.load offset=16 (i32.add (local.get $bias) (local.get $c)))))
              (else (local.set $b0 (local.get $z)) (local.set $b1 (local.get $z))))
            ${PX.map((q) => `(local.set $a${2 * q} (local.get $b0)) (local.set $a${2 * q + 1} (local.get $b1))`).join(' ')}
            (local.set $gt (i32.add (local.get $g) (local.get $c)))
            (local.set $r (i32.add (i32.add (local.get $scratch) (i32.mul (local.get $row) (local.get $prow))) (i32.mul (local.get $col) (i32.const 4))))
            (local.set $dy (i32.const 0))
            (loop $taps
${[0, 1, 2]
  .map(
    (dx) => `              (local.set $t0 (v128.load (local.get $gt)))
              (local.set $t1 (v128.load offset=16 (local.get $gt)))
              (local.set $gt (i32.add (local.get $gt) (local.get $os)))
${PX.map(
  (q) => `              (local.set $s (v128.load32_splat offset=${4 * (q + dx)} (local.get $r)))
              (local.set $a${2 * q} ${multiplyAdd(fma, `$a${2 * q}`, '$s', '$t0')})
              (local.set $a${2 * q + 1} ${multiplyAdd(fma, `$a${2 * q + 1}`, '$s', '$t1')})`,
).join('\n')}`,
  )
  .join('\n')}
              (local.set $r (i32.add (local.get $r) (local.get $prow)))
              (local.set $dy (i32.add (local.get $dy) (i32.const 1)))
              (br_if $taps (i32.lt_u (local.get $dy) (i32.const 3))))
            (if (local.get $relu) (then
              ${ACC.map((a) => `(local.set ${a} (f32x4.max (local.get ${a}) (local.get $z)))`).join(' ')}))
            ${PX.map(
              (
                q,
              ) => `(v128.store offset=${0} (i32.add (i32.add (local.get $out) (local.get $c)) (i32.mul (i32.const ${q}) (local.get $os))) (local.get $a${2 * q}))
            (v128.store offset=16 (i32.add (i32.add (local.get $out) (local.get $c)) (i32.mul (i32.const ${q}) (local.get $os))) (local.get $a${2 * q + 1}))`,
            ).join('\n            ')}
            (local.set $c (i32.add (local.get $c) (i32.const 32)))
            (br $chans)))
          (local.set $col (i32.add (local.get $col) (i32.const 4)))
          (br $cols)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows)))
      (local.set $img (i32.add (local.get $img) (i32.const 1)))
      (br $imgs)))
  )`);
  }
  section('forward', 'forward4');
  // driver: with $up = 0, x [n][h][w][ci]; else x is the skip [n][h][w][cs] and up the transposed convolution's
  // [n][h/2][w/2][4 (ci - cs)], concatenated while padding (pad_up)
  const shift = Math.log2(m);
  e(`(func (export "conv3x3") (param $x i32) (param $up i32) (param $cs i32) (param $n i32) (param $h i32) (param $w i32) (param $ci i32) (param $co i32)
      (param $u i32) (param $bias i32) (param $relu i32) (param $y i32) (param $scratch i32)
    (local $img i32) (local $p i32) (local $v i32) (local $m i32) (local $prowBytes i32) (local $ty i32) (local $tx i32)
    (local $tw i32) (local $nb i32) (local $yRow i32) (local $inBytes i32) (local $outBytes i32) (local $orow i32)
    (local $skipBytes i32)${m === 4 ? ' (local $tmp i32)' : ''}
    (local.set $skipBytes (i32.mul (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $cs)) (i32.const 4)))
    (local.set $p (local.get $scratch))
    (local.set $prowBytes (i32.mul (i32.mul (i32.add (local.get $w) (i32.const 2)) (local.get $ci)) (i32.const 4)))
    (local.set $v (i32.add (local.get $p) (i32.mul (i32.const ${m + 2}) (local.get $prowBytes))))
    (local.set $m (i32.add (local.get $v) (i32.mul (i32.const ${K * B * 4}) (local.get $ci))))
${
  m === 4
    ? `    (local.set $tmp (i32.add (local.get $m) (i32.mul (i32.const ${K * B * 4}) (local.get $co))))
`
    : ''
}    (local.set $tw (i32.shr_u (local.get $w) (i32.const ${shift})))
    (local.set $inBytes (i32.mul (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $ci)) (i32.const 4)))
    (local.set $orow (i32.mul (i32.mul (local.get $w) (local.get $co)) (i32.const 4)))
    (local.set $outBytes (i32.mul (local.get $h) (local.get $orow)))
    ${overBlockGroups(
      B,
      `
          (call ${m === 4 ? '$inT4' : '$inT'}
            (i32.add (local.get $p) (i32.mul (i32.mul (i32.mul (local.get $tx) (i32.const ${m})) (local.get $ci)) (i32.const 4)))
            (local.get $prowBytes) (local.get $ci) (local.get $nb) (local.get $v)${m === 4 ? ' (local.get $tmp)' : ''})
          (call $gemm (local.get $v) (local.get $u) (local.get $m) (local.get $ci) (local.get $co) (local.get $nb))
          (call ${m === 4 ? '$outT4' : '$outT'} (local.get $m) (local.get $co) (local.get $nb) (local.get $bias) (local.get $relu)
            (i32.add (i32.add (i32.add (local.get $y) (i32.mul (local.get $img) (local.get $outBytes))) (i32.mul (i32.mul (local.get $ty) (i32.const ${m})) (local.get $orow))) (i32.mul (i32.mul (i32.mul (local.get $tx) (i32.const ${m})) (local.get $co)) (i32.const 4)))
            (local.get $orow)${m === 4 ? ' (local.get $tmp)' : ''})
`,
      {
        padImage: '',
        padRow: `(if (local.get $up)
        (then (call $pad_up (i32.add (local.get $x) (i32.mul (local.get $img) (local.get $skipBytes))) (local.get $cs)
          (i32.add (local.get $up) (i32.mul (local.get $img) (i32.sub (local.get $inBytes) (local.get $skipBytes))))
          (local.get $h) (local.get $w) (local.get $ci) (local.get $p) (i32.mul (local.get $ty) (i32.const ${m})) (i32.const ${m + 2})))
        (else ${padStrip(m)}))`,
        shift,
      },
    )}
  )`);
  section('rows');
  // Not Winograd, but the same machinery (a module on the backend's heap): the two row operations training runs
  // on every activation. sum_rows: column sums of a row-major [rows][c] float32 array, c a multiple of 8, each
  // column accumulated in float64 in row order (the order, and so the result, of sum.ts's sumRows), into dst
  // (float32). copy_rows: rows of rowBytes (a multiple of 16) from src to dst, each with its own stride.
  e(`(func (export "sum_rows") (param $src i32) (param $rows i32) (param $c i32) (param $dst i32)
    (local $c8 i32) (local $r i32) (local $p i32) (local $stride i32) (local $v0 v128) (local $v1 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $stride (i32.mul (local.get $c) (i32.const 4)))
    (local.set $c8 (i32.const 0))
    (block $cdone (loop $cs
      (br_if $cdone (i32.ge_u (local.get $c8) (local.get $c)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $src) (i32.mul (local.get $c8) (i32.const 4))))
      (local.set $r (i32.const 0))
      (block $rdone (loop $rs
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $v0 (v128.load (local.get $p)))
        (local.set $v1 (v128.load offset=16 (local.get $p)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.promote_low_f32x4 (local.get $v0))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v0) (local.get $v0)))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.promote_low_f32x4 (local.get $v1))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v1) (local.get $v1)))))
        (local.set $p (i32.add (local.get $p) (local.get $stride)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rs)))
      (local.set $p (i32.add (local.get $dst) (i32.mul (local.get $c8) (i32.const 4))))
      ${[0, 1, 2, 3]
        .flatMap((q) =>
          [0, 1].map(
            (l) =>
              `(f32.store offset=${(2 * q + l) * 4} (local.get $p) (f32.demote_f64 (f64x2.extract_lane ${l} (local.get $a${q}))))`,
          ),
        )
        .join('\n      ')}
      (local.set $c8 (i32.add (local.get $c8) (i32.const 8)))
      (br $cs)))
  )`);
  // pointwise: y [rows][co] = act(x [rows][ci] w [ci][co] + bias), a 1x1 convolution (the decoder's transposed
  // convolutions run as one) in the matrix products' 4 x 8 register block; rows a multiple of 4, co of 8.
  e(`(func (export "pointwise") (param $x i32) (param $rows i32) (param $ci i32) (param $co i32) (param $w i32)
      (param $bias i32) (param $relu i32) (param $y i32)
    (local $r i32) (local $cb i32) (local $ic i32) (local $xb i32) (local $wb i32) (local $mb i32) (local $cs i32)
    (local $os i32) (local $u0 v128) (local $u1 v128) (local $s v128) (local $z v128) (local $b0 v128) (local $b1 v128)
    ${BLOCK_LOCALS}
    (local.set $cs (i32.mul (local.get $ci) (i32.const 4)))
    (local.set $os (i32.mul (local.get $co) (i32.const 4)))
    (local.set $z (v128.const i32x4 0 0 0 0))
    (local.set $r (i32.const 0))
    (block $rdone (loop $rs
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $cb (i32.const 0))
      (block $cbdone (loop $cbs
        (br_if $cbdone (i32.ge_u (local.get $cb) (local.get $os)))
        (if (local.get $bias)
          (then
            (local.set $b0 (v128.load (i32.add (local.get $bias) (local.get $cb))))
            (local.set $b1 (v128.load offset=16 (i32.add (local.get $bias) (local.get $cb)))))
          (else (local.set $b0 (local.get $z)) (local.set $b1 (local.get $z))))
        ${BLOCK_ROWS.map((q) => `(local.set $c${2 * q} (local.get $b0)) (local.set $c${2 * q + 1} (local.get $b1))`).join(' ')}
        (local.set $xb (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $cs))))
        (local.set $wb (i32.add (local.get $w) (local.get $cb)))
        (local.set $ic (i32.const 0))
        (block $idone (loop $is
          (br_if $idone (i32.ge_u (local.get $ic) (local.get $ci)))
          (local.set $u0 (v128.load (local.get $wb)))
          (local.set $u1 (v128.load offset=16 (local.get $wb)))
          ${multiplyAddBlock(fma, (q) => `(i32.add (local.get $xb) (i32.mul (i32.const ${q}) (local.get $cs)))`, '$u0', '$u1')}
          (local.set $xb (i32.add (local.get $xb) (i32.const 4)))
          (local.set $wb (i32.add (local.get $wb) (local.get $os)))
          (local.set $ic (i32.add (local.get $ic) (i32.const 1)))
          (br $is)))
        (if (local.get $relu) (then
          ${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `(local.set $c${i} (f32x4.max (local.get $c${i}) (local.get $z)))`).join(' ')}))
        (local.set $mb (i32.add (i32.add (local.get $y) (i32.mul (local.get $r) (local.get $os))) (local.get $cb)))
        ${storeBlock()}
        (local.set $cb (i32.add (local.get $cb) (i32.const 32)))
        (br $cbs)))
      (local.set $r (i32.add (local.get $r) (i32.const 4)))
      (br $rs)))
  )`);
  // dot_rows: y [rows] = act(x [rows][ci] . w [ci] + bias[0]), a 1x1 convolution to one channel (the U-Net's
  // head), ci a multiple of 4; bias 0: none.
  e(`(func (export "dot_rows") (param $x i32) (param $rows i32) (param $ci i32) (param $w i32) (param $bias i32)
      (param $relu i32) (param $y i32)
    (local $r i32) (local $c i32) (local $cs i32) (local $acc v128) (local $b f32) (local $v f32)
    (local.set $cs (i32.mul (local.get $ci) (i32.const 4)))
    (if (local.get $bias) (then (local.set $b (f32.load (local.get $bias)))))
    (local.set $r (i32.const 0))
    (block $rdone (loop $rs
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $c (i32.const 0))
      (loop $cs4
        (local.set $acc ${multiplyAdd(fma, '$acc', '$xv', '$wv').replace('(local.get $xv)', '(v128.load (i32.add (local.get $x) (local.get $c)))').replace('(local.get $wv)', '(v128.load (i32.add (local.get $w) (local.get $c)))')})
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $cs4 (i32.lt_u (local.get $c) (local.get $cs))))
      (local.set $v (f32.add (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
        (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))) (local.get $b)))
      (if (local.get $relu) (then (local.set $v (f32.max (local.get $v) (f32.const 0)))))
      (f32.store (local.get $y) (local.get $v))
      (local.set $x (i32.add (local.get $x) (local.get $cs)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rs)))
  )`);
  // max_pool_2x2: y [n][h/2][w/2][c] = the max of each 2x2 window of x [n][h][w][c] (stride 2, no padding; an odd
  // last row or column is dropped), c a multiple of 4.
  e(`(func (export "max_pool_2x2") (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $y i32)
    (local $rows i32) (local $i i32) (local $j i32) (local $k i32) (local $p i32) (local $cb i32) (local $rb i32)
    (local.set $cb (i32.mul (local.get $c) (i32.const 4)))
    (local.set $rb (i32.mul (local.get $w) (local.get $cb)))
    (local.set $rows (i32.mul (local.get $n) (i32.shr_u (local.get $h) (i32.const 1))))
    (local.set $i (i32.const 0))
    (block $idone (loop $is
      (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
      ;; output row i = image i / (h/2), row i % (h/2): input rows 2i and 2i+1 of the stacked images (h even)
      (local.set $p (i32.add (local.get $x) (i32.mul (i32.mul (local.get $i) (i32.const 2)) (local.get $rb))))
      (local.set $j (i32.const 0))
      (block $jdone (loop $js
        (br_if $jdone (i32.ge_u (local.get $j) (i32.shr_u (local.get $w) (i32.const 1))))
        (local.set $k (i32.const 0))
        (block $kdone (loop $ks
          (br_if $kdone (i32.ge_u (local.get $k) (local.get $cb)))
          (v128.store (local.get $y) (f32x4.max
            (f32x4.max (v128.load (i32.add (local.get $p) (local.get $k))) (v128.load (i32.add (i32.add (local.get $p) (local.get $cb)) (local.get $k))))
            (f32x4.max (v128.load (i32.add (i32.add (local.get $p) (local.get $rb)) (local.get $k)))
              (v128.load (i32.add (i32.add (i32.add (local.get $p) (local.get $rb)) (local.get $cb)) (local.get $k))))))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $ks)))
        (local.set $p (i32.add (local.get $p) (i32.mul (local.get $cb) (i32.const 2))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $js)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $is)))
  )`);
  e(`(func (export "copy_rows") (param $src i32) (param $srcStride i32) (param $dst i32) (param $dstStride i32)
      (param $rows i32) (param $rowBytes i32)
    (local $r i32) (local $b i32)
    (local.set $r (i32.const 0))
    (block $rdone (loop $rs
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $b (i32.const 0))
      (block $bdone (loop $bs
        (br_if $bdone (i32.ge_u (local.get $b) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $dst) (local.get $b)) (v128.load (i32.add (local.get $src) (local.get $b))))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (br $bs)))
      (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
      (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rs)))
  )`);
  // max_pool_grad_2x2: the gradient of a 2x2 stride-2 max pool without padding (windows that do not overlap),
  // 4 channels per vector: each window's dy goes to its first strict maximum in row-major order and a window of
  // NaN or -Infinity gets none (max-pool-grad.ts's rule, the CPU backend's); dx is zeroed first, for the last row
  // and column that an odd size leaves outside every window.
  e(`(func (export "max_pool_grad_2x2") (param $x i32) (param $dy i32) (param $dx i32) (param $n i32) (param $h i32)
      (param $w i32) (param $c i32)
    (local $img i32) (local $oy i32) (local $ox i32) (local $k i32) (local $oh i32) (local $ow i32) (local $cs i32)
    (local $row i32) (local $p i32) (local $g i32) (local $ninf v128) (local $gv v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $best v128)
    (local $v0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local.set $cs (i32.mul (local.get $c) (i32.const 4)))
    (local.set $row (i32.mul (local.get $w) (local.get $cs)))
    (local.set $oh (i32.shr_u (local.get $h) (i32.const 1)))
    (local.set $ow (i32.shr_u (local.get $w) (i32.const 1)))
    (local.set $ninf (f32x4.splat (f32.const -inf)))
    (memory.fill (local.get $dx) (i32.const 0) (i32.mul (i32.mul (local.get $n) (local.get $h)) (local.get $row)))
    (local.set $g (local.get $dy))
    (local.set $img (i32.const 0))
    (block $ndone (loop $imgs
      (br_if $ndone (i32.ge_u (local.get $img) (local.get $n)))
      (local.set $oy (i32.const 0))
      (block $ydone (loop $ys
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $oh)))
        (local.set $ox (i32.const 0))
        (block $xdone (loop $xs
          (br_if $xdone (i32.ge_u (local.get $ox) (local.get $ow)))
          ;; byte offset of the window's top-left element (channel 0) in x and dx
          (local.set $p (i32.add (i32.mul (i32.add (i32.mul (local.get $img) (local.get $h)) (i32.mul (local.get $oy) (i32.const 2)))
            (local.get $row)) (i32.mul (i32.mul (local.get $ox) (i32.const 2)) (local.get $cs))))
          (local.set $k (i32.const 0))
          (block $kdone (loop $ks
            (br_if $kdone (i32.ge_u (local.get $k) (local.get $cs)))
            (local.set $x0 (v128.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $k))))
            (local.set $x1 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $k)) (local.get $cs))))
            (local.set $x2 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $k)) (local.get $row))))
            (local.set $x3 (v128.load (i32.add (i32.add (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $k)) (local.get $row)) (local.get $cs))))
            (local.set $gv (v128.load (i32.add (local.get $g) (local.get $k))))
            (local.set $v0 (f32x4.gt (local.get $x0) (local.get $ninf)))
            (local.set $best (v128.bitselect (local.get $x0) (local.get $ninf) (local.get $v0)))
            (local.set $m1 (f32x4.gt (local.get $x1) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $x1) (local.get $best) (local.get $m1)))
            (local.set $m2 (f32x4.gt (local.get $x2) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $x2) (local.get $best) (local.get $m2)))
            (local.set $m3 (f32x4.gt (local.get $x3) (local.get $best)))
            ;; the last position that beat everything before it wins
            (local.set $m2 (v128.andnot (local.get $m2) (local.get $m3)))
            (local.set $m1 (v128.andnot (v128.andnot (local.get $m1) (local.get $m3)) (local.get $m2)))
            (local.set $v0 (v128.andnot (v128.andnot (v128.andnot (local.get $v0) (local.get $m3)) (local.get $m2)) (local.get $m1)))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $k)) (v128.and (local.get $gv) (local.get $v0)))
            (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $k)) (local.get $cs)) (v128.and (local.get $gv) (local.get $m1)))
            (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $k)) (local.get $row)) (v128.and (local.get $gv) (local.get $m2)))
            (v128.store (i32.add (i32.add (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $k)) (local.get $row)) (local.get $cs)) (v128.and (local.get $gv) (local.get $m3)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $ks)))
          (local.set $g (i32.add (local.get $g) (local.get $cs)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xs)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $ys)))
      (local.set $img (i32.add (local.get $img) (i32.const 1)))
      (br $imgs)))
  )`);
  section('both');
  e(')');
  return L.join('\n');
}
