import { align16, pipelineKernels } from '../wasm/pipeline';
import type { MemberStatistics } from './statistics';

/**
 * memberStatistics's loop in the pipeline module (its `stats`): writes `out` and returns true, or returns false
 * (the caller then runs the JS loop, which gives the same bits) where the module cannot run.
 */
export function wasmMemberStatistics(
  members: readonly Float32Array[],
  threshold: number,
  weights: Float64Array,
  out: MemberStatistics,
): boolean {
  const m = members.length;
  const n = members[0]!.length;
  // Two pixels per step: an odd count gets a zero pixel at the end of each map, whose results are dropped.
  const n2 = n + (n & 1);
  const src = align16(m * 8);
  const outAt = src + align16(m * n2 * 4);
  const wasm = pipelineKernels(outAt + 4 * n2 * 4);
  if (!wasm) return false;
  new Float64Array(wasm.buffer, 0, m).set(weights);
  const f32 = new Float32Array(wasm.buffer);
  for (let i = 0; i < m; i++) {
    const at = (src >> 2) + i * n2;
    f32.set(members[i]!, at);
    if (n2 !== n) f32[at + n] = 0;
  }
  wasm.kernels.stats(src, m, n2, 0, outAt, threshold);
  const o = outAt >> 2;
  out.mean.set(f32.subarray(o, o + n));
  out.meanSquare.set(f32.subarray(o + n2, o + n2 + n));
  out.vote.set(f32.subarray(o + 2 * n2, o + 2 * n2 + n));
  out.max.set(f32.subarray(o + 3 * n2, o + 3 * n2 + n));
  return true;
}
