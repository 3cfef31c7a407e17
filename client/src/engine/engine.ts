import {
  channelIntensities,
  countPages,
  type EnsembleRunner,
  isQuorumInputError,
  loadMember,
  type SegmentOptions as PipelineOptions,
  planTiles,
  type Segmentation,
  type SummaryProvenance,
  segmentImage,
  sizeMultiple,
  tfEnsembleRunner,
} from '@quorum/shared';
import * as tf from '@tensorflow/tfjs';
import { candidatesFor, selectBackend } from './backend';
import { batchArchive, batchEntry } from './batch';
import { defaultBatchSize } from './batch-size';
import { exportResult } from './exports';
import { BackendRunError, runWithFallback } from './fallback';
import { guardedRunner } from './guarded-runner';
import { decodeInput, userPixelSize } from './input';
import { IntegrityError, type LoadedFiles, loadEnsembleFiles, NetworkError } from './loader';
import type { EngineStore } from './store';
import type {
  BackendInfo,
  BatchItem,
  EngineApi,
  EngineErrorKind,
  EngineResult,
  EnsembleSource,
  ExportKind,
  InitOptions,
  LoadedEnsembleInfo,
  LoadProgress,
  SegmentInput,
  SegmentOptions,
  SegmentProgress,
} from './types';

/**
 * The inference engine as it runs inside the worker: one backend, one loaded ensemble, jobs that can be
 * cancelled. The worker module only exposes it with comlink; keeping it a plain class keeps that surface tiny.
 */

/** An error as it crosses the worker boundary: comlink keeps `name` and `message`, so the kind rides in `name`. */
export function engineError(kind: EngineErrorKind, message: string, code?: string): Error {
  const e = new Error(message);
  e.name = `engine:${kind}${code ? `:${code}` : ''}`;
  return e;
}

function classify(e: unknown): Error {
  if (e instanceof Error && e.name.startsWith('engine:')) return e;
  if (isQuorumInputError(e)) return engineError('input', e.message, e.code);
  if (e instanceof IntegrityError) return engineError('integrity', e.message);
  if (e instanceof NetworkError) return engineError('network', e.message);
  if (e instanceof Error && e.name === 'AbortError') return engineError('aborted', e.message);
  if (e instanceof BackendRunError) return engineError('backend', e.message);
  return engineError('internal', e instanceof Error ? e.message : String(e));
}

/** Rethrow anything as a classified engine error. */
async function classified<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw classify(e);
  }
}

function toDisplay(image: Float32Array): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, image[i]!)) * 255);
  return out;
}

interface Loaded {
  files: LoadedFiles;
  models: tf.LayersModel[];
  runner: EnsembleRunner;
}

export class Engine implements EngineApi {
  private backend: BackendInfo | undefined;
  private options: InitOptions = {};
  private loaded: Loaded | undefined;
  private last: EngineResult | undefined;
  private readonly jobs = new Map<number, AbortController>();

  constructor(private readonly store: () => Promise<EngineStore>) {}

  init(options: InitOptions): Promise<BackendInfo> {
    return classified(async () => {
      this.options = options;
      const request = options.backend ?? 'auto';
      this.backend = await selectBackend(candidatesFor(request), {
        ...(request !== 'auto' ? { forced: request } : {}),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      });
      if (this.loaded) await this.buildModels(this.loaded.files);
      return this.backend;
    });
  }

  private async ensureBackend(): Promise<BackendInfo> {
    return this.backend ?? (await this.init(this.options));
  }

  load(source: EnsembleSource, onProgress?: (p: LoadProgress) => void): Promise<LoadedEnsembleInfo> {
    return classified(async () => {
      await this.ensureBackend();
      const files = await loadEnsembleFiles(source, {
        store: await this.store(),
        ...(onProgress ? { onProgress } : {}),
      });
      await this.buildModels(files, onProgress);
      const m = files.manifest;
      return {
        name: m.name,
        version: m.version,
        ...(m.description ? { description: m.description } : {}),
        members: m.members.length,
        rule: m.aggregation.rule,
        offline: files.offline,
        cached: files.cached,
        downloaded: files.downloaded,
      };
    });
  }

  /**
   * (Re)build every member on the active backend from the verified bytes. The previous models are disposed only
   * once the new ones exist, so a failed build leaves the engine as it was.
   */
  private async buildModels(files: LoadedFiles, onProgress?: (p: LoadProgress) => void): Promise<void> {
    const { members } = files.manifest;
    const models: tf.LayersModel[] = [];
    try {
      for (const [i, member] of members.entries()) {
        const [modelRef, ...shardRefs] = member.files;
        const json = new TextDecoder().decode(files.files.get(modelRef!.path)!);
        const shards = shardRefs.map((r) => files.files.get(r.path)!);
        models.push(await loadMember(json, shards, modelRef!.path));
        onProgress?.({ phase: 'load', done: i + 1, total: members.length });
      }
    } catch (e) {
      for (const m of models) m.dispose();
      throw e;
    }
    const runner = tfEnsembleRunner(
      models,
      members.map((m) => ({ id: m.id, mode: m.mode })),
    );
    const previous = this.loaded?.models ?? [];
    this.loaded = { files, models, runner };
    for (const m of previous) m.dispose();
  }

  pages(bytes: Uint8Array, name: string): Promise<number> {
    // From the header alone (format, TIFF directories): no pixel data is decoded here.
    return classified(async () => countPages(bytes, name));
  }

  segment(
    job: number,
    input: SegmentInput,
    options: SegmentOptions,
    onProgress?: (p: SegmentProgress) => void,
  ): Promise<EngineResult> {
    const controller = new AbortController();
    this.jobs.set(job, controller);
    return classified(async () => {
      try {
        if (!this.loaded) throw engineError('input', 'no ensemble is loaded: call load() first');
        const t0 = performance.now();
        onProgress?.({ phase: 'decode' });
        const decoded = decodeInput(input, options);
        const tDecoded = performance.now();
        const { result: seg, backend } = await runWithFallback(this.backend!, {
          run: () => this.run(decoded.image, options, controller.signal, onProgress),
          switchTo: async (candidates, fallbacks) => {
            this.backend = await selectBackend(candidates, {
              fallbacks,
              ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
            });
            await this.buildModels(this.loaded!.files);
            return this.backend;
          },
        });
        const tDone = performance.now();
        const { manifest } = this.loaded.files;
        // The image as the members saw it, already normalised by segmentImage.
        const display = toDisplay(seg.normalized);
        // The adaptive ensemble's saving: member-tile evaluations it proved could not change the mask.
        const skipped = seg.fullEvaluations - seg.evaluations;
        const memory = tf.memory();
        this.last = {
          width: seg.width,
          height: seg.height,
          page: decoded.page,
          pages: decoded.pages,
          rule: seg.rule,
          count: seg.count,
          mask: seg.mask.data,
          labels: seg.labels.data,
          probability: seg.probability,
          uncertainty: seg.uncertainty.std,
          objects: seg.objects,
          ...(decoded.pixelSize ? { pixelSize: decoded.pixelSize } : {}),
          ...(decoded.multichannel
            ? { channelIntensities: channelIntensities(seg.labels, decoded.multichannel) }
            : {}),
          display,
          evaluations: seg.evaluations,
          ...(options.adaptive === 'exact' ? { skipped } : {}),
          backend,
          ensemble: { name: manifest.name, version: manifest.version },
          ms: {
            decode: tDecoded - t0,
            infer: tDone - tDecoded,
            total: performance.now() - t0,
            stages: seg.timings,
          },
          tensors: { count: memory.numTensors, bytes: memory.numBytes },
        };
        return this.last;
      } finally {
        this.jobs.delete(job);
      }
    });
  }

  private run(
    image: Parameters<typeof segmentImage>[0],
    options: SegmentOptions,
    signal: AbortSignal,
    onProgress?: (p: SegmentProgress) => void,
  ): Promise<Segmentation> {
    const loaded = this.loaded!;
    const { architecture, tiling } = loaded.files.manifest;
    const windows = planTiles(image.width, image.height, {
      tile: tiling.tile,
      halo: tiling.halo,
      multiple: sizeMultiple(architecture),
    });
    const batchSize = options.batchSize ?? defaultBatchSize(this.backend!.name, architecture, windows);
    const pipeline: PipelineOptions = {
      signal,
      ...(options.rule ? { rule: options.rule } : {}),
      ...(options.tta !== undefined ? { tta: options.tta } : {}),
      ...(batchSize !== undefined ? { batchSize } : {}),
      ...(options.adaptive ? { adaptive: options.adaptive } : {}),
      onProgress: (p) => {
        onProgress?.({ phase: 'infer', done: p.done, total: p.total });
        // The pipeline aggregates and post-processes right after its last member call.
        if (p.done === p.total) onProgress?.({ phase: 'postprocess' });
      },
    };
    return segmentImage(image, loaded.files.manifest, guardedRunner(loaded.runner, signal), pipeline);
  }

  cancel(job: number): void {
    this.jobs.get(job)?.abort();
  }

  exportResult(kind: ExportKind, stem: string, pixelSize?: number) {
    return classified(async () => {
      if (!this.last) throw engineError('input', 'nothing to export: segment an image first');
      const size = userPixelSize(pixelSize);
      return exportResult(size ? { ...this.last, pixelSize: size } : this.last, kind, stem);
    });
  }

  batchEntry(image: string, output: string) {
    return classified(async () => {
      if (!this.last) throw engineError('input', 'nothing to keep: segment an image first');
      return batchEntry(this.last, image, output);
    });
  }

  batchArchive(items: BatchItem[], provenance: SummaryProvenance, pixelSize?: number) {
    return classified(async () => batchArchive(items, provenance, userPixelSize(pixelSize)));
  }

  memory(): { count: number; bytes: number } {
    const m = tf.memory();
    return { count: m.numTensors, bytes: m.numBytes };
  }
}
