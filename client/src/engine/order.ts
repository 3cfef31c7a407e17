import type { BackendName, BackendRequest } from './types';

/** Backends in order of preference: WebGPU on a real adapter, then WASM, then the plain-JS CPU backend. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

/** The backends to try for a request, in order: the forced one first, then the slower ones after it. */
export function candidatesFor(request: BackendRequest): BackendName[] {
  if (request === 'auto') return [...BACKEND_ORDER];
  return BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(request));
}

/** The backends after `name` in order of preference: where a failing backend falls back to. */
export function slowerThan(name: BackendName): BackendName[] {
  return BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(name) + 1);
}
