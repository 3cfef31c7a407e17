import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeOutput } from '../call';
import { winogradFilter } from './filter';
import { type EmscriptenModule, winogradFor } from './module';
import { type ForwardPart, gradientScratchBytes, scratchBytes, transformedFilterFloats } from './wat';

/** Channel counts the modules take: inputs in whole vectors of 4, outputs in register blocks of 8. */
const IN_BLOCK = 4;
const OUT_BLOCK = 8;
const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

/**
 * Transformed (and channel-padded) filters by module and the filter's data id: a layer's weights are transformed
 * once per block size.
 */
const filterCaches: Record<ForwardPart, WeakMap<object, Float32Array>> = {
  forward: new WeakMap(),
  forward4: new WeakMap(),
};

/**
 * Which forward module a convolution takes: 'auto' F(4x4, 3x3) unless rounding the size up to its whole groups
 * costs over 20% more pixels than F(2x2, 3x3)'s (it is about 1.3x faster per pixel on the U-Net's layers);
 * 'f2' F(2x2, 3x3) always (tests, comparisons).
 */
export type WinogradBlocks = 'auto' | 'f2';
let blocks: WinogradBlocks = 'auto';

export function setWinogradBlocks(choice: WinogradBlocks): void {
  blocks = choice;
}

/**
 * The size a forward module computes for an h x w output: whole m x m blocks in whole groups of 4 along the width
 * (the matrix products' register block). A smaller input is zero-padded up to it, which leaves the valid outputs
 * exactly those of a 'same' convolution, and the rest are dropped.
 */
export function forwardSize(part: ForwardPart, h: number, w: number): [number, number] {
  const m = part === 'forward4' ? 4 : 2;
  return [roundUp(h, m), roundUp(w, 4 * m)];
}

/** The forward module for an output of h x w (see WinogradBlocks). */
export function forwardPartFor(h: number, w: number): ForwardPart {
  if (blocks === 'f2') return 'forward';
  const area = (part: ForwardPart) => forwardSize(part, h, w).reduce((a, b) => a * b);
  return area('forward4') <= 1.2 * area('forward') ? 'forward4' : 'forward';
}

const is3x3Of = (x: readonly number[], filter: readonly number[]) =>
  x.length === 4 && filter[0] === 3 && filter[1] === 3 && filter[2] === x[3] && x[1]! > 0 && x[2]! > 0;

/**
 * Whether the forward modules take a 3x3 convolution of this shape: any size (padded to whole blocks, see
 * forwardSize) and any channel counts (padded with zeros to whole blocks: an RGB input's 3 channels to 4, a
 * 1-channel output to 8).
 */
export function winogradForwardShapeOk(x: readonly number[], filter: readonly number[]): boolean {
  return is3x3Of(x, filter);
}

/**
 * Whether the filter-gradient module takes a 3x3 convolution of this shape: channel counts as for the forward, the
 * height even and the width a multiple of 8 (whole 2x2 blocks in groups of 4; it does not pad sizes).
 */
export function winogradShapeOk(x: readonly number[], filter: readonly number[]): boolean {
  return is3x3Of(x, filter) && x[1]! % 2 === 0 && x[2]! % 8 === 0;
}

/**
 * Whether the forward modules take a 3x3 convolution of the channel concatenation [skip, depthToSpace(up, 2)] in
 * one pass: skip [n, h, w, cs], up [n, h/2, w/2, 4 cu] (a 2x2 stride-2 transposed convolution's result before its
 * rearrangement), cs and cu whole input blocks (no channel padding on this path), any size.
 */
export function winogradSkipUpOk(
  skip: readonly number[],
  up: readonly number[],
  filter: readonly number[],
): boolean {
  const [n, h, w, cs] = skip;
  const [un, uh, uw, uc] = up;
  if (skip.length !== 4 || up.length !== 4 || un !== n || uh! * 2 !== h || uw! * 2 !== w) return false;
  const cu = uc! / 4;
  return (
    Number.isInteger(cu) &&
    cs! % IN_BLOCK === 0 &&
    cu % IN_BLOCK === 0 &&
    cs! > 0 &&
    cu > 0 &&
    winogradForwardShapeOk([n!, h!, w!, cs! + cu], filter)
  );
}

/**
 * Float32 regions of the WASM heap for one call, in one allocation (pointers in bytes), freed by `free`. Read or
 * write them only through `f32`, made after the allocation: an allocation may grow (and so replace) the heap.
 */
function workspace(backend: BackendWasm, floats: readonly number[]) {
  const module = backend.wasm as unknown as EmscriptenModule;
  const total = floats.reduce((a, b) => a + b, 0);
  // Unsigned: above 2 GiB the pointer comes back from the i32 export negative. 0 is malloc's failure.
  const base = module._malloc(total * 4) >>> 0;
  if (base === 0 && total > 0)
    throw new Error(
      `WASM heap exhausted: ${total * 4} bytes of scratch for a 3x3 convolution could not be allocated ` +
        '(WebAssembly memory is limited to 4 GiB)',
    );
  let at = base;
  const ptrs = floats.map((f) => {
    const p = at;
    at += f * 4;
    return p;
  });
  return {
    ptrs,
    f32: () => new Float32Array(module.HEAPU8.buffer),
    free: () => module._free(base),
  };
}

/**
 * Copies `rows` rows of `from` floats at byte `src` into rows of `to` floats at byte `dst` of `heap`: the first
 * min(from, to) of each, zeros after them when `to` is longer. Pads channels on the way in, drops them on the way out.
 */
function copyRows(
  heap: Float32Array,
  src: number,
  from: number,
  dst: number,
  to: number,
  rows: number,
): void {
  const keep = Math.min(from, to);
  let s = src >>> 2;
  let d = dst >>> 2;
  for (let r = 0; r < rows; r++, s += from, d += to) {
    for (let c = 0; c < keep; c++) heap[d + c] = heap[s + c]!;
    for (let c = keep; c < to; c++) heap[d + c] = 0;
  }
}

/** A tensor's byte address on the heap. */
const addressOf = (backend: BackendWasm, t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;

/** g [3, 3, ci, co] padded with zeros to [3, 3, ci4, co8] (g itself when no padding is needed). */
function paddedFilter(g: Float32Array, [ci, co]: readonly number[], ci4: number, co8: number): Float32Array {
  if (ci4 === ci && co8 === co) return g;
  const padded = new Float32Array(9 * ci4 * co8);
  for (let tap = 0; tap < 9; tap++)
    for (let a = 0; a < ci!; a++)
      padded.set(g.subarray((tap * ci! + a) * co!, (tap * ci! + a + 1) * co!), (tap * ci4 + a) * co8);
  return padded;
}

/**
 * Writes the module's transformed filter (channel-padded to ci4 x co8) at byte `at` of the heap: the cached one
 * when this filter tensor was transformed before, else F(2x2)'s computed in JS (winogradFilter) or F(4x4)'s by
 * the module itself (filter43, using `tmp` as scratch), then cached. `gAt` is scratch for a padded filter.
 */
function writeTransformedFilter(
  backend: BackendWasm,
  ws: ReturnType<typeof workspace>,
  filter: TensorInfo,
  [ci4, co8]: readonly [number, number],
  part: ForwardPart,
  [at, gAt, tmp]: readonly [number, number, number],
): void {
  const cache = filterCaches[part];
  const cached = cache.get(filter.dataId);
  if (cached) {
    ws.f32().set(cached, at >>> 2);
    return;
  }
  const raw = backend.typedArrayFromHeap(filter) as Float32Array;
  const g = paddedFilter(raw, filter.shape.slice(2), ci4, co8);
  if (part === 'forward') {
    const u = winogradFilter(g, ci4, co8);
    ws.f32().set(u, at >>> 2);
    cache.set(filter.dataId, u);
    return;
  }
  let from = addressOf(backend, filter);
  if (g !== raw) {
    ws.f32().set(g, gAt >>> 2);
    from = gAt;
  }
  winogradFor(backend, 'forward4')!.filter43(from, ci4 * co8, at, tmp);
  cache.set(filter.dataId, ws.f32().slice(at >>> 2, (at >>> 2) + transformedFilterFloats(part, ci4, co8)));
}

/**
 * U = G g G^T of F(4x4, 3x3) for a 3x3 filter g [3][3][ci][co] (ci x co a multiple of 4), laid out [36][ci][co]
 * (position 6 i + j), computed by the module as the forward does (tests check it against the definition); null
 * where the module cannot run.
 */
export function winogradFilter43(
  backend: BackendWasm,
  g: Float32Array,
  ci: number,
  co: number,
): Float32Array | null {
  const forward4 = winogradFor(backend, 'forward4');
  if (forward4 === null) return null;
  const pairs = ci * co;
  const ws = workspace(backend, [9 * pairs, 36 * pairs, 72]);
  const [gAt, uAt, tmp] = ws.ptrs as [number, number, number];
  try {
    ws.f32().set(g, gAt >>> 2);
    forward4.filter43(gAt, pairs, uAt, tmp);
    return ws.f32().slice(uAt >>> 2, (uAt >>> 2) + 36 * pairs);
  } finally {
    ws.free();
  }
}

/**
 * y = act(conv3x3(x, filter, 'same') + bias) with act ReLU or identity, or null when this backend cannot run the
 * module (winogradFor). The caller has checked the shape (winogradForwardShapeOk), stride 1, dilation 1, NHWC.
 * With `up`, the convolution's input is the channel concatenation [x, depthToSpace(up, 2)], which is never
 * materialised: the module builds it while zero-padding its copy of the input (checked by winogradSkipUpOk).
 */
export function winogradConv3x3(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
  up?: TensorInfo,
): TensorInfo | null {
  const forward = winogradFor(backend, 'forward');
  if (forward === null) return null;
  const [n, h, w, cx] = x.shape as [number, number, number, number];
  const ci = up ? filter.shape[2]! : cx;
  const co = filter.shape[3]!;
  const direct = ci === 1 && co % OUT_BLOCK === 0 && w >= 4 && !up ? winogradFor(backend, 'direct') : null;
  if (direct) return directConv3x3C1(backend, direct.conv3x3_c1, x, filter, bias, relu);
  let part = forwardPartFor(h, w);
  const forward4 = part === 'forward4' ? winogradFor(backend, 'forward4') : null;
  if (forward4 === null) part = 'forward';
  const conv = (forward4 ?? forward).conv3x3;
  const [ci4, co8] = [roundUp(ci, IN_BLOCK), roundUp(co, OUT_BLOCK)];
  const padIn = ci4 !== ci;
  const padOut = co8 !== co;
  if (up && padIn) return null;
  // The size the module computes, and whether the input must be copied (zero-padded) and the output cropped.
  const [H, W] = forwardSize(part, h, w);
  const copyIn = padIn || H !== h || W !== w;
  const copyOut = padOut || H !== h || W !== w;
  const fresh = !filterCaches[part].has(filter.dataId);
  const out = makeOutput(backend, [n, h, w, co], 'float32');
  // With up, x is the skip (cx channels) and up [n, h/2, w/2, 4 cu] is padded to [n, H/2, W/2, 4 cu].
  const inChannels = up ? cx : ci4;
  const upChannels = up ? up.shape[3]! : 0;
  const ws = workspace(backend, [
    transformedFilterFloats(part, ci4, co8),
    fresh ? 9 * ci4 * co8 : 0,
    scratchBytes(W, ci4, co8, part) / 4,
    copyIn ? n * H * W * inChannels : 0,
    copyIn && up ? (n * H * W * upChannels) / 4 : 0,
    copyOut ? n * H * W * co8 : 0,
    padOut && bias ? co8 : 0,
  ]);
  const [uPtr, gPtr, scratch, xPad, upPad, yPad, biasPad] = ws.ptrs as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  try {
    writeTransformedFilter(backend, ws, filter, [ci4, co8], part, [uPtr, gPtr, scratch]);
    const heap = ws.f32();
    let xAt = addressOf(backend, x);
    let upAt = up ? addressOf(backend, up) : 0;
    if (copyIn) {
      copyImages(heap, xAt, [n, h, w, up ? cx : ci], xPad, [H, W, inChannels]);
      xAt = xPad;
      if (up) {
        copyImages(heap, upAt, [n, h / 2, w / 2, upChannels], upPad, [H / 2, W / 2, upChannels]);
        upAt = upPad;
      }
    }
    let biasAt = bias ? addressOf(backend, bias) : 0;
    if (bias && padOut) {
      copyRows(heap, biasAt, co, biasPad, co8, 1);
      biasAt = biasPad;
    }
    const yAt = copyOut ? yPad : addressOf(backend, out);
    conv(xAt, upAt, up ? cx : 0, n, H, W, ci4, co8, uPtr, biasAt, relu ? 1 : 0, yAt, scratch);
    if (copyOut) copyRegion(ws.f32(), yPad, [H, W, co8], addressOf(backend, out), [h, w, co], [n, h, w]);
  } finally {
    ws.free();
  }
  return out;
}

/**
 * Copies the top-left h x w pixels of n images [sh][sw][sc] at byte `src` into n images [dh][dw][dc] at byte `dst`:
 * rows whole where dc = sc, else pixels with their first min(sc, dc) channels and zeros after (copyRows).
 */
function copyRegion(
  heap: Float32Array,
  src: number,
  [sh, sw, sc]: readonly [number, number, number],
  dst: number,
  [dh, dw, dc]: readonly [number, number, number],
  [n, h, w]: readonly [number, number, number],
): void {
  for (let img = 0; img < n; img++)
    for (let y = 0; y < h; y++) {
      const s = src + (img * sh + y) * sw * sc * 4;
      const d = dst + (img * dh + y) * dw * dc * 4;
      if (sc === dc) heap.copyWithin(d / 4, s / 4, s / 4 + w * sc);
      else copyRows(heap, s, sc, d, dc, w);
    }
}

/** n images [h][w][c] at byte `src` into the top-left corner of n zero-filled images [H][W][c2] at byte `dst`. */
function copyImages(
  heap: Float32Array,
  src: number,
  [n, h, w, c]: readonly [number, number, number, number],
  dst: number,
  [H, W, c2]: readonly [number, number, number],
): void {
  heap.fill(0, dst / 4, dst / 4 + n * H * W * c2);
  copyRegion(heap, src, [h, w, c], dst, [H, W, c2], [n, h, w]);
}

/**
 * A one-channel image's 3x3 convolution (the U-Net's first layer), computed directly by the module from the raw
 * filter: no transform, no channel padding.
 */
function directConv3x3C1(
  backend: BackendWasm,
  conv: (...args: number[]) => void,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
): TensorInfo {
  const [n, h, w] = x.shape as [number, number, number, number];
  const co = filter.shape[3]!;
  const out = makeOutput(backend, [n, h, w, co], 'float32');
  const ws = workspace(backend, [(h + 2) * (w + 2)]);
  try {
    conv(
      addressOf(backend, x),
      n,
      h,
      w,
      co,
      addressOf(backend, filter),
      bias ? addressOf(backend, bias) : 0,
      relu ? 1 : 0,
      addressOf(backend, out),
      ws.ptrs[0]!,
    );
  } finally {
    ws.free();
  }
  return out;
}

/**
 * A filter gradient's inputs with channels padded to whole blocks (copies only where needed), where the module
 * writes the gradient (`out` itself unless padded), and `finish`, which copies a padded gradient's [taps, ci, co]
 * corner into `out`; `extra` floats of scratch come first.
 */
function paddedGradient(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  out: TensorInfo,
  taps: number,
  extraFloats: number,
): {
  ws: ReturnType<typeof workspace>;
  xAt: number;
  dyAt: number;
  dwAt: number;
  extra: number;
  ci4: number;
  co8: number;
  finish: () => void;
} {
  const ci = x.shape[3]!;
  const co = dy.shape[3]!;
  const [ci4, co8] = [roundUp(ci, IN_BLOCK), roundUp(co, OUT_BLOCK)];
  const xPixels = x.shape[0]! * x.shape[1]! * x.shape[2]!;
  const dyPixels = dy.shape[0]! * dy.shape[1]! * dy.shape[2]!;
  const padIn = ci4 !== ci;
  const padOut = co8 !== co;
  const padded = padIn || padOut;
  const ws = workspace(backend, [
    extraFloats,
    padIn ? xPixels * ci4 : 0,
    padOut ? dyPixels * co8 : 0,
    padded ? taps * ci4 * co8 : 0,
  ]);
  const [extra, xPad, dyPad, dwPad] = ws.ptrs as [number, number, number, number];
  const heap = ws.f32();
  if (padIn) copyRows(heap, addressOf(backend, x), ci, xPad, ci4, xPixels);
  if (padOut) copyRows(heap, addressOf(backend, dy), co, dyPad, co8, dyPixels);
  return {
    ws,
    xAt: padIn ? xPad : addressOf(backend, x),
    dyAt: padOut ? dyPad : addressOf(backend, dy),
    dwAt: padded ? dwPad : addressOf(backend, out),
    extra,
    ci4,
    co8,
    finish: () => {
      if (!padded) return;
      // Per tap: the first ci of its ci4 rows, the first co of each row's co8 values.
      const heap = ws.f32();
      const dst = addressOf(backend, out);
      for (let tap = 0; tap < taps; tap++)
        copyRows(heap, dwPad + tap * ci4 * co8 * 4, co8, dst + tap * ci * co * 4, co, ci);
    },
  };
}

/**
 * dW = the filter gradient of conv3x3(x, W, 'same') for output gradient dy, as [3, 3, ci, co]; or null when this
 * backend cannot run the module. The caller has checked the shape (winogradShapeOk with [3, 3, ci, co]).
 */
export function winogradFilterGrad(backend: BackendWasm, x: TensorInfo, dy: TensorInfo): TensorInfo | null {
  const grad = winogradFor(backend, 'gradient')?.filter_grad;
  if (grad === undefined) return null;
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const co = dy.shape[3]!;
  const out = makeOutput(backend, [3, 3, ci, co], 'float32');
  const scratch = gradientScratchBytes(h, w, roundUp(ci, IN_BLOCK), roundUp(co, OUT_BLOCK)) / 4;
  const g = paddedGradient(backend, x, dy, out, 9, scratch);
  try {
    grad(g.xAt, g.dyAt, n, h, w, g.ci4, g.co8, g.dwAt, g.extra);
    g.finish();
  } finally {
    g.ws.free();
  }
  return out;
}

/**
 * dW [s, s, ci, co] of a convolution whose s x s windows do not overlap (kernel = stride = s, no padding), such as
 * the U-Net's 2x2 stride-2 transposed convolutions (whose filter gradient TF.js computes as this one's), with
 * dy [n, oh, ow, co]; null when this backend cannot run the module.
 */
export function patchFilterGrad(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  s: number,
): TensorInfo | null {
  const grad = winogradFor(backend, 'gradient')?.patch_grad;
  if (grad === undefined) return null;
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const [, oh, ow, co] = dy.shape as [number, number, number, number];
  const out = makeOutput(backend, [s, s, ci, co], 'float32');
  const g = paddedGradient(backend, x, dy, out, s * s, 0);
  try {
    grad(g.xAt, g.dyAt, n, h, w, g.ci4, g.co8, s, oh, ow, g.dwAt);
    g.finish();
  } finally {
    g.ws.free();
  }
  return out;
}
