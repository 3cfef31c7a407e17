import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { winogradFor } from './winograd/module';

/** A block of equally spaced rows of one tensor on the WASM heap, in bytes. */
export interface RowBlock {
  info: TensorInfo;
  /** Byte offset of the block's first row inside the tensor. */
  start: number;
  /** Bytes from one row to the next. */
  stride: number;
}

/**
 * Copies `rows` rows of `rowBytes` bytes each from one tensor's heap memory to another's with
 * `Uint8Array.copyWithin`, a memmove inside the WASM memory. The stock `Concat`/`SplitV` call `subarray` +
 * `set` per row (and `SplitV` first copies the whole input once per output through `readSync`), which makes a
 * concat along the channel axis of a [4,256,256,16] pair 3-5x slower than this.
 * Read the heap only after every output is allocated: an allocation may grow (and so replace) the buffer.
 */
export function copyRows(
  backend: BackendWasm,
  from: RowBlock,
  to: RowBlock,
  rows: number,
  rowBytes: number,
): void {
  if (rows === 0 || rowBytes === 0) return;
  const source = backend.typedArrayFromHeap(from.info);
  const heap = new Uint8Array(source.buffer);
  const src = source.byteOffset + from.start;
  const dst = backend.typedArrayFromHeap(to.info).byteOffset + to.start;
  if (from.stride === rowBytes && to.stride === rowBytes) {
    heap.copyWithin(dst, src, src + rows * rowBytes);
    return;
  }
  // Whole 16-byte vectors (the U-Net's channel counts): a SIMD loop in the rows module, several times faster than
  // either JS path below for the short rows of a channel concatenation.
  const simd = rowBytes % 16 === 0 ? winogradFor(backend, 'rows')?.copy_rows : undefined;
  if (simd !== undefined) {
    simd(src, from.stride, dst, to.stride, rows, rowBytes);
    return;
  }
  // Byte addresses reach 4 GiB: unsigned shifts only (a signed one turns an address above 2 GiB negative).
  if (rowBytes <= SHORT_ROW_BYTES && ((src | dst | from.stride | to.stride | rowBytes) & 3) === 0) {
    copyShortRows(
      new Int32Array(heap.buffer),
      src >>> 2,
      dst >>> 2,
      from.stride >>> 2,
      to.stride >>> 2,
      rows,
      rowBytes >>> 2,
    );
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = src + r * from.stride;
    heap.copyWithin(dst + r * to.stride, s, s + rowBytes);
  }
}

/**
 * Rows this short (the U-Net's full-resolution skip concatenation has 16-32 bytes per pixel) cost more in
 * `copyWithin` call overhead than in copying: a word loop unrolled by four is 3-10x faster up to 64 bytes and no
 * faster beyond (train/bench/kernels.ts times Concat against the stock kernel). Int32 words, not float32, so every bit pattern
 * (NaN payloads included) is copied unchanged.
 */
const SHORT_ROW_BYTES = 64;

function copyShortRows(
  heap: Int32Array,
  src: number,
  dst: number,
  srcStride: number,
  dstStride: number,
  rows: number,
  words: number,
): void {
  for (let r = 0; r < rows; r++, src += srcStride, dst += dstStride) {
    let k = 0;
    for (; k + 4 <= words; k += 4) {
      heap[dst + k] = heap[src + k]!;
      heap[dst + k + 1] = heap[src + k + 1]!;
      heap[dst + k + 2] = heap[src + k + 2]!;
      heap[dst + k + 3] = heap[src + k + 3]!;
    }
    for (; k < words; k++) heap[dst + k] = heap[src + k]!;
  }
}
