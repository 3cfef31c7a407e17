export {
  BACKEND_REQUESTS,
  type BackendRequest,
  type BackendSelection,
  BackendUnavailableError,
  selectBackend,
} from './select.js';
export { wasmBinaryDir } from './wasm-paths.js';
