import { type BackendWasm, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { decodeBase64, type WasmMemory, webAssembly } from '../../wasm/runtime';
import { WINOGRAD_WASM_BASE64 } from './binary';
import type { WinogradPart } from './wat';

/**
 * The Winograd modules (wat.ts, assembled into binary.ts) instantiated against the WASM backend's own memory, so
 * that they read and write tensors where they lie, without copies. One instance per memory (per backend) and part.
 */
type Conv3x3Export = (
  x: number,
  up: number,
  cs: number,
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

export interface EmscriptenModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  asm?: Record<string, unknown>;
  wasmMemory?: unknown;
}

const wasm = webAssembly!;

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

/** conv3x3_c1(x, n, h, w, co, g, bias, relu, y, scratch): one input channel, direct, raw filter. */
type Conv3x3C1Export = (
  x: number,
  n: number,
  h: number,
  w: number,
  co: number,
  g: number,
  bias: number,
  relu: number,
  y: number,
  scratch: number,
) => void;

interface Exports {
  forward: { conv3x3: Conv3x3Export };
  /** filter43(g, pairs, u, tmp): F(4x4, 3x3)'s filter transform (f43.ts). */
  forward4: { conv3x3: Conv3x3Export; filter43: (g: number, pairs: number, u: number, tmp: number) => void };
  direct: { conv3x3_c1: Conv3x3C1Export };
  gradient: { filter_grad: FilterGradExport; patch_grad: PatchGradExport };
  rows: {
    max_pool_2x2: (x: number, n: number, h: number, w: number, c: number, y: number) => void;
    max_pool_grad_2x2: (
      x: number,
      dy: number,
      dx: number,
      n: number,
      h: number,
      w: number,
      c: number,
    ) => void;
    sum_rows: (src: number, rows: number, c: number, dst: number) => void;
    dot_rows: (x: number, rows: number, ci: number, w: number, bias: number, relu: number, y: number) => void;
    pointwise: (
      x: number,
      rows: number,
      ci: number,
      co: number,
      w: number,
      bias: number,
      relu: number,
      y: number,
    ) => void;
    copy_rows: (
      src: number,
      srcStride: number,
      dst: number,
      dstStride: number,
      rows: number,
      rowBytes: number,
    ) => void;
  };
}

/** An instantiated module's exports, and whether its multiply-adds are fused. */
interface Instance {
  exports: object;
  fma: boolean;
}

/** Instantiated modules per memory and part; null where instantiation failed. */
let instances = new WeakMap<WasmMemory, Partial<Record<WinogradPart, Instance | null>>>();

/**
 * Which build of the modules to instantiate: 'auto' takes the fused multiply-add build where the
 * runtime has relaxed SIMD (Chromium since 114, Node from 22, or Node 20 with --experimental-wasm-relaxed-simd)
 * and the baseline SIMD build elsewhere; 'fma' and 'plain' force one (tests; 'fma' without relaxed SIMD leaves
 * the stock kernels).
 */
export type WinogradArithmetic = 'auto' | 'fma' | 'plain';
let arithmetic: WinogradArithmetic = 'auto';

/** Sets which build later calls instantiate (modules already instantiated are dropped). */
export function setWinogradArithmetic(choice: WinogradArithmetic): void {
  arithmetic = choice;
  instances = new WeakMap();
}

/** Each backend module's memory (the same object for its whole life: growing keeps it). */
const memories = new WeakMap<object, WasmMemory | null>();

/** The backend's WebAssembly memory: exported by the plain build, created in JS by the threaded one. */
function backendMemory(module: EmscriptenModule): WasmMemory | null {
  const candidates = [module.wasmMemory, module.asm?.['memory'], ...Object.values(module.asm ?? {})];
  return (candidates.find((c) => c instanceof wasm.Memory) as WasmMemory | undefined) ?? null;
}

/**
 * A module's exports for this backend, or null where it must not or cannot run: when XNNPACK runs on several
 * threads (one Winograd thread is then slower than it), or where the module cannot be instantiated (a runtime
 * without WASM SIMD: the backend then runs its non-SIMD build, which is slow everywhere anyway).
 */
export function winogradFor<P extends WinogradPart>(backend: BackendWasm, part: P): Exports[P] | null {
  return (instanceFor(backend, part)?.exports as Exports[P] | undefined) ?? null;
}

function instanceFor(backend: BackendWasm, part: WinogradPart): Instance | null {
  // Several XNNPACK threads convolve faster than one Winograd thread; the row operations are not XNNPACK's.
  if (part !== 'rows' && getThreadsCount() > 1) return null;
  const module = backend.wasm as unknown as EmscriptenModule;
  // Looked up once per backend: this runs on every convolution, sum and concatenation.
  let memory = memories.get(module);
  if (memory === undefined) {
    memory = backendMemory(module);
    memories.set(module, memory);
  }
  if (memory === null) return null;
  const parts = instances.get(memory) ?? {};
  instances.set(memory, parts);
  let instance = parts[part];
  if (instance === undefined) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const builds = arithmetic === 'auto' ? [true, false] : [arithmetic === 'fma'];
    instance = null;
    for (const fma of builds) {
      const key = `${part}${fma ? 'Fma' : ''}${shared ? 'Shared' : ''}` as keyof typeof WINOGRAD_WASM_BASE64;
      try {
        const bytes = decodeBase64(WINOGRAD_WASM_BASE64[key]);
        instance = { exports: new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports, fma };
        break;
      } catch {
        // No relaxed SIMD (or no SIMD at all) here: the next build, else the stock kernels.
      }
    }
    parts[part] = instance;
  }
  return instance;
}

/**
 * For the backend's description: whether 3x3 convolutions run through the Winograd modules here, and if not why
 * (several XNNPACK threads, or a runtime that cannot instantiate them).
 */
export function winogradStatus(backend: BackendWasm): string {
  const threads = getThreadsCount();
  if (threads > 1) return `3x3 convolutions on XNNPACK (${threads} threads beat one Winograd thread)`;
  const forward = instanceFor(backend, 'forward');
  if (forward === null) return '3x3 convolutions on XNNPACK (the Winograd module could not be instantiated)';
  return forward.fma ? 'Winograd 3x3 convolutions with fused multiply-add' : 'Winograd 3x3 convolutions';
}
