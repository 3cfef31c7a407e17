import type { TensorInfo } from '@tensorflow/tfjs';
import { type BackendWasm, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { WINOGRAD_WASM_BASE64 } from './binary';
import { gradientScratchBytes, scratchBytes, type WinogradPart } from './wat';

/**
 * Running the Winograd module (wat.ts) on the WASM backend's own heap: the module imports the backend's memory, so
 * tensors are read and written where they lie, without copies. One instance per memory (per backend).
 */
type Conv3x3Export = (
  x: number,
  n: number,
  h: number,
  w: number,
  ci: number,
  co: number,
  u: number,
  bias: number,
  relu: number,
  y: number,
  scratch: number,
) => void;

interface EmscriptenModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  asm?: Record<string, unknown>;
  wasmMemory?: unknown;
}

/** The part of the WebAssembly JS API used here (shared/ compiles against ES2022 alone, which does not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type FilterGradExport = (
  x: number,
  dy: number,
  n: number,
  h: number,
  w: number,
  ci: number,
  co: number,
  dw: number,
  scratch: number,
) => void;

type PatchGradExport = (
  x: number,
  dy: number,
  n: number,
  h: number,
  w: number,
  ci: number,
  co: number,
  s: number,
  oh: number,
  ow: number,
  dw: number,
) => void;

interface Exports {
  forward: { conv3x3: Conv3x3Export };
  gradient: { filter_grad: FilterGradExport; patch_grad: PatchGradExport };
}

/** Instantiated modules' exports per memory and part; null where instantiation failed. */
const instances = new WeakMap<WasmMemory, Partial<Record<WinogradPart, object | null>>>();

/** The backend's WebAssembly memory: exported by the plain build, created in JS by the threaded one. */
function backendMemory(module: EmscriptenModule): WasmMemory | null {
  const candidates = [module.wasmMemory, module.asm?.['memory'], ...Object.values(module.asm ?? {})];
  return (candidates.find((c) => c instanceof wasm.Memory) as WasmMemory | undefined) ?? null;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array((clean.length * 3) >> 2);
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const ch of clean) {
    acc = (acc << 6) | alphabet.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * A module's exports for this backend, or null where it must not or cannot run: when XNNPACK runs on several
 * threads (one Winograd thread is then slower than it), or where the module cannot be instantiated (a runtime
 * without WASM SIMD: the backend then runs its non-SIMD build, which is slow everywhere anyway).
 */
function winogradFor<P extends WinogradPart>(backend: BackendWasm, part: P): Exports[P] | null {
  if (getThreadsCount() > 1) return null;
  const module = backend.wasm as unknown as EmscriptenModule;
  const memory = backendMemory(module);
  if (memory === null) return null;
  let parts = instances.get(memory);
  if (parts === undefined) instances.set(memory, (parts = {}));
  let exports = parts[part];
  if (exports === undefined) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    try {
      const key = shared ? (`${part}Shared` as const) : part;
      const bytes = decodeBase64(WINOGRAD_WASM_BASE64[key as keyof typeof WINOGRAD_WASM_BASE64]);
      const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
      exports = instance.exports;
    } catch {
      exports = null;
    }
    parts[part] = exports;
  }
  return exports as Exports[P] | null;
}

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

/** Transformed filters by the filter's data id: a layer's weights are transformed once, not at every tile. */
const filterCache = new WeakMap<object, Float32Array>();

/** Whether conv3x3 takes a convolution of this shape; anything else goes to the stock kernel. */
export function winogradShapeOk(x: readonly number[], filter: readonly number[]): boolean {
  const [, h, w, ci] = x;
  const [fh, fw, fci, co] = filter;
  return (
    x.length === 4 &&
    fh === 3 &&
    fw === 3 &&
    fci === ci &&
    ci! % 4 === 0 &&
    co! % 8 === 0 &&
    h! % 2 === 0 &&
    w! % 8 === 0 &&
    h! > 0 &&
    w! > 0
  );
}

/**
 * y = act(conv3x3(x, filter, 'same') + bias) with act ReLU or identity, or null when this backend cannot run the
 * module (winogradFor). The caller has checked the shape (winogradShapeOk), stride 1, dilation 1, NHWC.
 */
export function winogradConv3x3(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
): TensorInfo | null {
  const conv = winogradFor(backend, 'forward')?.conv3x3;
  if (conv === undefined) return null;
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const co = filter.shape[3]!;
  let u = filterCache.get(filter.dataId);
  if (u === undefined) {
    u = winogradFilter(backend.typedArrayFromHeap(filter) as Float32Array, ci, co);
    filterCache.set(filter.dataId, u);
  }
  const out = backend.makeOutput([n, h, w, co], 'float32');
  const module = backend.wasm as unknown as EmscriptenModule;
  const ptr = module._malloc(u.byteLength + scratchBytes(h, w, ci, co));
  try {
    // Views of the heap only after the allocations: each may have grown (and so replaced) its buffer.
    new Float32Array(module.HEAPU8.buffer, ptr, u.length).set(u);
    const at = (t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
    conv(at(x), n, h, w, ci, co, ptr, bias ? at(bias) : 0, relu ? 1 : 0, at(out), ptr + u.byteLength);
  } finally {
    module._free(ptr);
  }
  return out;
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
  const out = backend.makeOutput([3, 3, ci, co], 'float32');
  const module = backend.wasm as unknown as EmscriptenModule;
  const ptr = module._malloc(gradientScratchBytes(h, w, ci, co));
  try {
    const at = (t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
    grad(at(x), at(dy), n, h, w, ci, co, at(out), ptr);
  } finally {
    module._free(ptr);
  }
  return out;
}

/**
 * dW [s, s, ci, co] of a convolution whose s x s windows do not overlap (kernel = stride = s, no padding), such as
 * the U-Net's 2x2 stride-2 transposed convolutions (whose filter gradient TF.js computes as this one's), with
 * dy [n, oh, ow, co]; null when this backend cannot run the module. ci a multiple of 4, co of 8.
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
  const out = backend.makeOutput([s, s, ci, co], 'float32');
  const at = (t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
  grad(at(x), at(dy), n, h, w, ci, co, s, oh, ow, at(out));
  return out;
}
