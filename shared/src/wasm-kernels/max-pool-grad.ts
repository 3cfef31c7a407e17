import type {
  backend_util,
  KernelConfig,
  KernelFunc,
  MaxPoolGradAttrs,
  MaxPoolGradInputs,
  TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeOutput } from './call';
import { isUNetPool, poolInfo } from './max-pool';
import { winogradFor } from './winograd/module';

/**
 * `MaxPoolGrad` in one pass over the heap: each window's first strict maximum in row-major order (the CPU
 * backend's rule; a window of NaN or -Infinity gets none) receives that window's gradient. The stock kernel
 * costs about 100 ms of a 1.5 s U-Net training step, and on ties picks another element than the CPU backend
 * (seen with 3x3 windows at stride 2); dilated pools, which the U-Net does not use, still go to it.
 */
export function makeMaxPoolGradConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: MaxPoolGradInputs;
    backend: BackendWasm;
    attrs: MaxPoolGradAttrs;
  }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const x = inputs.input as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const info = poolInfo(x, attrs);
    if (
      x.dtype !== 'float32' ||
      dy.dtype !== 'float32' ||
      info.dilationHeight !== 1 ||
      info.dilationWidth !== 1
    ) {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const dx = makeOutput(backend, x.shape, 'float32');
    // The U-Net's pools: the rows module's SIMD loop, same rule.
    const simd = isUNetPool(info) ? winogradFor(backend, 'rows')?.max_pool_grad_2x2 : undefined;
    if (simd !== undefined) {
      const at = (t: TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
      simd(at(x), at(dy), at(dx), info.batchSize, info.inHeight, info.inWidth, info.inChannels);
      return dx;
    }
    const out = backend.typedArrayFromHeap(dx) as Float32Array;
    out.fill(0);
    scatterToMaxima(
      backend.typedArrayFromHeap(x) as Float32Array,
      backend.typedArrayFromHeap(dy) as Float32Array,
      out,
      info,
    );
    return dx;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}

/**
 * Adds each window's gradient to its first strict maximum (row-major); `out` starts at zero. A 2x2 window inside
 * the image takes an unrolled path (every window of the U-Net's pools).
 */
function scatterToMaxima(
  xs: Float32Array,
  gs: Float32Array,
  out: Float32Array,
  info: backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, inChannels: c } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const row = inWidth * c;
  let g = 0;
  for (let b = 0; b < batchSize; b++) {
    const image = b * inHeight * row;
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = Math.max(0, oy * sh - top);
      const y1 = Math.min(inHeight, oy * sh - top + fh);
      for (let ox = 0; ox < outWidth; ox++, g += c) {
        const x0 = Math.max(0, ox * sw - left);
        const x1 = Math.min(inWidth, ox * sw - left + fw);
        const corner = image + y0 * row + x0 * c;
        if (y1 - y0 === 2 && x1 - x0 === 2) {
          for (let d = 0; d < c; d++) {
            const p = corner + d;
            let best = xs[p]!;
            let at = p;
            // NaN never wins a comparison, so a NaN first element must not hold the maximum.
            if (!(best > Number.NEGATIVE_INFINITY)) {
              best = Number.NEGATIVE_INFINITY;
              at = -1;
            }
            const q = p + c;
            if (xs[q]! > best) {
              best = xs[q]!;
              at = q;
            }
            const r = p + row;
            if (xs[r]! > best) {
              best = xs[r]!;
              at = r;
            }
            if (xs[r + c]! > best) at = r + c;
            if (at >= 0) out[at]! += gs[g + d]!;
          }
          continue;
        }
        for (let d = 0; d < c; d++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let y = y0; y < y1; y++) {
            for (let p = image + y * row + x0 * c + d, end = p + (x1 - x0) * c; p < end; p += c) {
              if (xs[p]! > best) {
                best = xs[p]!;
                at = p;
              }
            }
          }
          if (at >= 0) out[at]! += gs[g + d]!;
        }
      }
    }
  }
}
