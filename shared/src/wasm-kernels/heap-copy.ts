import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

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
  for (let r = 0; r < rows; r++) {
    const s = src + r * from.stride;
    heap.copyWithin(dst + r * to.stride, s, s + rowBytes);
  }
}
