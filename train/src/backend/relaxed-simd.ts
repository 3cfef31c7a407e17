import { setFlagsFromString } from 'node:v8';

/**
 * (module (func (param v128 v128 v128) (result v128)
 *   (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))
 */
const PROBE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00,
  0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

// Node's own WebAssembly global; this package compiles without the DOM library that declares its type.
const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

/**
 * Turns on WebAssembly relaxed SIMD where this Node has it behind a flag (Node 20's V8 11.3; on by default from
 * Node 22), so the Winograd kernels take their fused multiply-add build, as Chromium does. Must run before the
 * first module that uses it is compiled (they are compiled on first use). Returns whether it is available.
 */
export function enableRelaxedSimd(): boolean {
  if (wasm.validate(PROBE)) return true;
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return wasm.validate(PROBE);
}
