import type { SummaryProvenance } from '@quorum/shared';
import * as Comlink from 'comlink';
import type {
  BackendInfo,
  BatchEntry,
  BatchItem,
  EngineApi,
  EngineErrorData,
  EngineErrorKind,
  EngineResult,
  EnsembleSource,
  ExportedFile,
  ExportKind,
  InitOptions,
  LoadedEnsembleInfo,
  LoadProgress,
  SegmentInput,
  SegmentOptions,
  SegmentProgress,
} from './types';
// The built worker's URL (resolved against this module's own URL, so it also works when the widget is loaded
// from the edge into a page on another origin).
import workerUrl from './worker.ts?worker&url';

/**
 * The page's handle on the engine worker: comlink underneath, with an AbortSignal for cancellation (signals do not
 * cross to a worker, so an abort becomes a `cancel(job)` message) and errors turned back into typed data.
 */
export class EngineError extends Error implements EngineErrorData {
  override readonly name = 'EngineError';
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Engine errors cross the worker boundary with their kind in `name` ('engine:input:too-large'). */
export function toEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  const err = e as { name?: string; message?: string };
  const [tag, kind, code] = (err?.name ?? '').split(':');
  if (tag === 'engine' && kind) return new EngineError(kind as EngineErrorKind, err.message ?? '', code);
  return new EngineError('internal', err?.message ?? String(e));
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw toEngineError(e);
  }
}

/**
 * A module worker from `url`. Browsers refuse `new Worker(url)` for another origin, which is the widget's case (its
 * script comes from the edge, the page from the portal): there the worker starts from a same-origin blob: module
 * that imports the real one, allowed by the edge's CORS headers.
 */
export function startWorker(url: string): Worker {
  const resolved = new URL(url, import.meta.url);
  if (resolved.origin === globalThis.location?.origin) return new Worker(resolved, { type: 'module' });
  const shim = new Blob([`import ${JSON.stringify(resolved.href)};\n`], { type: 'text/javascript' });
  const blobUrl = URL.createObjectURL(shim);
  const worker = new Worker(blobUrl, { type: 'module' });
  // The shim is only needed until the worker has fetched it.
  setTimeout(() => URL.revokeObjectURL(blobUrl), 60_000);
  return worker;
}

export interface SegmentCall extends SegmentOptions {
  signal?: AbortSignal;
  onProgress?: (p: SegmentProgress) => void;
}

export class EngineClient {
  private readonly worker: Worker;
  private readonly api: Comlink.Remote<EngineApi>;
  private nextJob = 1;

  constructor(url: string = workerUrl) {
    this.worker = startWorker(url);
    this.api = Comlink.wrap<EngineApi>(this.worker);
  }

  init(options: InitOptions = {}): Promise<BackendInfo> {
    return call(() => this.api.init(options));
  }

  load(source: EnsembleSource, onProgress?: (p: LoadProgress) => void): Promise<LoadedEnsembleInfo> {
    return call(() => this.api.load(source, onProgress ? Comlink.proxy(onProgress) : undefined));
  }

  pages(bytes: Uint8Array, name: string): Promise<number> {
    return call(() => this.api.pages(bytes, name));
  }

  /** Segment one image. The input's pixels go to the worker and nowhere else. */
  segment(input: SegmentInput, options: SegmentCall = {}): Promise<EngineResult> {
    const { signal, onProgress, ...rest } = options;
    const job = this.nextJob++;
    return call(async () => {
      signal?.throwIfAborted();
      const onAbort = () => void this.api.cancel(job);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await this.api.segment(job, input, rest, onProgress ? Comlink.proxy(onProgress) : undefined);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }).catch((e: EngineError) => {
      // An abort that raced the worker's last tile still reads as a cancellation to the caller.
      if (signal?.aborted && e.kind !== 'aborted')
        throw new EngineError('aborted', 'segmentation was cancelled');
      throw e;
    });
  }

  exportResult(kind: ExportKind, stem: string, pixelSize?: number): Promise<ExportedFile> {
    return call(() => this.api.exportResult(kind, stem, pixelSize));
  }

  /** Keep the last result for a batch download (encoded in the worker). */
  batchEntry(image: string, output: string): Promise<BatchEntry> {
    return call(() => this.api.batchEntry(image, output));
  }

  batchArchive(items: BatchItem[], provenance: SummaryProvenance, pixelSize?: number): Promise<ExportedFile> {
    return call(() => this.api.batchArchive(items, provenance, pixelSize));
  }

  memory(): Promise<{ count: number; bytes: number }> {
    return call(() => this.api.memory());
  }

  terminate(): void {
    this.api[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
