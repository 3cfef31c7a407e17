import type { EnsembleRunner } from '@quorum/shared';
import { BackendRunError } from './fallback';

/**
 * The runner the shared pipeline drives, wrapped for the worker: cancellable before every model call, and explicit
 * about whose fault a throw is (a model call that throws is the backend's: see fallback.ts).
 */

export class CancelledError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('segmentation was cancelled');
  }
}

/**
 * A macrotask turn. TF.js's WASM `data()` resolves on microtasks only, so without this the worker would never
 * look at its message queue during a run and a cancel could not land until the end.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Before each member call: let pending messages (a cancel) run, then stop if the job was aborted. So once the
 * cancel has reached the worker, no further model call starts; only the one already running finishes.
 */
export function guardedRunner(inner: EnsembleRunner, signal: AbortSignal): EnsembleRunner {
  return {
    members: inner.members,
    channels: inner.channels,
    async predict(index, tiles, count, h, w) {
      await yieldToEventLoop();
      if (signal.aborted) throw new CancelledError();
      try {
        return await inner.predict(index, tiles, count, h, w);
      } catch (e) {
        throw new BackendRunError((e as Error)?.message ?? String(e), { cause: e });
      }
    },
  };
}
