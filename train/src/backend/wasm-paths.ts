import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The folder holding tfjs-backend-wasm's `.wasm` binaries, resolved from this module rather than the process
 * cwd, so training works when started from any directory (and the binaries are found next to the package
 * wherever npm hoisted it). Ends with a separator, as `setWasmPaths` expects a prefix.
 */
export function wasmBinaryDir(): string {
  const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  return path.dirname(main) + path.sep;
}
