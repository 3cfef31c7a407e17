import { decodeBase64, type WasmMemory, webAssembly } from '../wasm/runtime';
import type { MemberStatistics } from './statistics';
import { STATISTICS_WASM_BASE64 } from './statistics-binary';

type StatsExport = (src: number, m: number, n: number, w: number, out: number, t: number) => void;

interface Kernel {
  stats: StatsExport;
  memory: WasmMemory;
}

/** The module's instance: undefined until first use, null where this runtime cannot run it (no WebAssembly SIMD). */
let kernel: Kernel | null | undefined;
let enabled = true;

/**
 * Whether memberStatistics may use the WebAssembly module ('auto', the default) or must use its JS loop ('js'), for
 * tests and comparisons: both give the same bits.
 */
export function setStatisticsKernel(choice: 'auto' | 'js'): void {
  enabled = choice === 'auto';
}

function load(): Kernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  try {
    const bytes = decodeBase64(STATISTICS_WASM_BASE64);
    if (webAssembly?.validate(bytes)) {
      const { exports } = new webAssembly.Instance(new webAssembly.Module(bytes), {});
      kernel = { stats: exports['stats'] as StatsExport, memory: exports['memory'] as WasmMemory };
    }
  } catch {
    kernel = null;
  }
  return kernel;
}

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/**
 * memberStatistics's loop in the module: writes `out` and returns true, or returns false (the caller then runs the
 * JS loop) where the module cannot run or its memory cannot grow to hold the members.
 */
export function wasmMemberStatistics(
  members: readonly Float32Array[],
  threshold: number,
  weights: Float64Array,
  out: MemberStatistics,
): boolean {
  const k = enabled ? load() : null;
  if (!k) return false;
  const m = members.length;
  const n = members[0]!.length;
  // Two pixels per step: an odd count gets a zero pixel at the end of each map, whose results are dropped.
  const n2 = n + (n & 1);
  const src = align16(m * 8);
  const outAt = src + align16(m * n2 * 4);
  const needed = outAt + 4 * n2 * 4;
  const have = k.memory.buffer.byteLength;
  if (needed > have) {
    try {
      k.memory.grow(Math.ceil((needed - have) / 65536));
    } catch {
      return false;
    }
  }
  const { buffer } = k.memory;
  new Float64Array(buffer, 0, m).set(weights);
  const f32 = new Float32Array(buffer);
  for (let i = 0; i < m; i++) {
    const at = (src >> 2) + i * n2;
    f32.set(members[i]!, at);
    if (n2 !== n) f32[at + n] = 0;
  }
  k.stats(src, m, n2, 0, outAt, threshold);
  const o = outAt >> 2;
  out.mean.set(f32.subarray(o, o + n));
  out.meanSquare.set(f32.subarray(o + n2, o + n2 + n));
  out.vote.set(f32.subarray(o + 2 * n2, o + 2 * n2 + n));
  out.max.set(f32.subarray(o + 3 * n2, o + 3 * n2 + n));
  return true;
}
