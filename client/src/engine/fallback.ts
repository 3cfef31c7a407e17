import { slowerThan } from './order';
import type { BackendInfo, BackendName } from './types';

/**
 * Run-time fallback. A model call that throws is the backend's fault (a kernel missing on it, a lost device, a
 * shader that does not compile): inputs were validated before inference started. The engine marks those throws
 * as BackendRunError; this moves the work to the next slower backend, records why, and runs it again there.
 */
export class BackendRunError extends Error {
  override readonly name = 'BackendRunError';
}

export interface FallbackHooks<T> {
  /** The work, on whatever backend is active. */
  run(): Promise<T>;
  /** Activate the first of `candidates` that works (carrying `fallbacks` forward) and rebuild the models there. */
  switchTo(candidates: BackendName[], fallbacks: string[]): Promise<BackendInfo>;
}

export async function runWithFallback<T>(
  backend: BackendInfo,
  hooks: FallbackHooks<T>,
): Promise<{ result: T; backend: BackendInfo }> {
  let current = backend;
  for (;;) {
    try {
      return { result: await hooks.run(), backend: current };
    } catch (e) {
      const next = slowerThan(current.name);
      if (!(e instanceof BackendRunError) || next.length === 0) throw e;
      const reason = `${current.name}: failed at run time (${e.message})`;
      current = await hooks.switchTo(next, [...current.fallbacks, reason]);
    }
  }
}
