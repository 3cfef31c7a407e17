import type {
  AdaptiveMode,
  AggregationRule,
  ChannelChoice,
  ChannelIntensities,
  ObjectRow,
  PixelSize,
  SegmentTimings,
  SummaryProvenance,
} from '@quorum/shared';

/**
 * The engine's vocabulary, shared by the worker, the page-side client, the app and the widget. Type-only: the
 * page imports it without pulling TF.js into its bundle.
 */

/** A TF.js backend the engine can run on, fastest first. */
export type BackendName = 'webgpu' | 'wasm' | 'cpu';
/** `auto` picks the fastest that works; a name forces that one (still falling back, with the reason recorded). */
export type BackendRequest = 'auto' | BackendName;
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'webgpu', 'wasm', 'cpu'];

/** What really ran, as opposed to what was asked for. */
export interface BackendInfo {
  name: BackendName;
  /** Threads XNNPACK really uses (WASM: 1 unless the page is cross-origin isolated); 1 for WebGPU and CPU. */
  threads: number;
  /** WASM only: whether the SIMD build runs. */
  simd?: boolean;
  /** One line for people: the adapter, or the WASM build. */
  detail: string;
  /** Every backend tried before this one and why it was not used, e.g. 'webgpu: no WebGPU adapter'. */
  fallbacks: string[];
  /** Whether the engine's realm is cross-origin isolated (the precondition for WASM threads). */
  crossOriginIsolated: boolean;
}

export interface InitOptions {
  backend?: BackendRequest;
  /** Cap on WASM threads (default: TF.js's choice, half the logical cores). */
  threads?: number;
}

/** Where an ensemble comes from: an edge (absolute origin), an ensemble name, optionally a pinned version. */
export interface EnsembleSource {
  edge: string;
  ensemble: string;
  /** Absent: whatever `latest` points at now. */
  version?: string;
}

export type LoadProgress =
  | { phase: 'manifest' }
  /** Bytes of blobs that had to come from the network (cached ones are not counted). */
  | { phase: 'download'; loaded: number; total: number }
  /** Members built on the backend. */
  | { phase: 'load'; done: number; total: number };

export interface LoadedEnsembleInfo {
  name: string;
  version: string;
  description?: string;
  members: number;
  rule: AggregationRule;
  /** The network could not be reached and the cached manifest was used. */
  offline: boolean;
  /** Files (and bytes) taken from the blob cache and fetched from the network. */
  cached: { files: number; bytes: number };
  downloaded: { files: number; bytes: number };
}

/** An image to segment: the bytes of a PNG/JPEG/TIFF file, or already decoded RGBA pixels (a canvas's ImageData). */
export type SegmentInput =
  | { kind: 'file'; bytes: Uint8Array; name: string }
  | { kind: 'rgba'; data: Uint8ClampedArray | Uint8Array; width: number; height: number; name?: string };

/** 'exact': the shared pipeline skips member evaluations that provably cannot change the mask. */
export type { AdaptiveMode };

export interface SegmentOptions {
  /** Aggregation rule; default: the manifest's. */
  rule?: AggregationRule;
  /** Flip test-time augmentation (4x the work). */
  tta?: boolean;
  /** Adaptive ensemble evaluation, passed through to the shared pipeline. */
  adaptive?: AdaptiveMode;
  /** 0-based page of a multi-page TIFF. */
  page?: number;
  channel?: ChannelChoice;
  /** Images with more pixels are refused before their pixel data is inflated. */
  maxPixels?: number;
  /** Tiles per member call. */
  batchSize?: number;
  /** Micrometres per pixel, overriding what the file declares (for the objects CSV's physical columns). */
  pixelSize?: number;
}

export type SegmentProgress =
  | { phase: 'decode' }
  /** Member-tile evaluations done of planned (tiles x members x TTA variants). */
  | { phase: 'infer'; done: number; total: number }
  | { phase: 'postprocess' };

export interface EngineResult {
  width: number;
  height: number;
  /** Page decoded, and how many the file has. */
  page: number;
  pages: number;
  rule: AggregationRule;
  count: number;
  /** 0/1 per pixel, row-major. */
  mask: Uint8Array;
  /** Instance ids, 0 background. */
  labels: Uint32Array;
  /** The map the rule thresholds (mean probability, vote fraction or max). */
  probability: Float32Array;
  /** Per-pixel standard deviation of the member probabilities. */
  uncertainty: Float32Array;
  objects: ObjectRow[];
  /** Physical pixel size: the caller's, else the file's (ImageJ/OME-TIFF metadata); absent when unknown. */
  pixelSize?: PixelSize;
  /** For a multi-channel file: each channel's mean and integrated intensity per object (rows' order). */
  channelIntensities?: ChannelIntensities;
  /** The input as 8-bit grey, normalised the way the network saw it, for display. */
  display: Uint8Array;
  evaluations: number;
  /** With `adaptive: 'exact'`: member-tile evaluations skipped because they could not change the mask. */
  skipped?: number;
  backend: BackendInfo;
  ensemble: { name: string; version: string };
  /** Wall-clock milliseconds: decoding, segmentation (`infer`, split into `stages`), and the whole call. */
  ms: { decode: number; infer: number; total: number; stages: SegmentTimings };
  /** TF.js tensors alive after the run: flat across runs when nothing leaks. */
  tensors: { count: number; bytes: number };
}

/** Files a result can be exported as; encoded in the worker so the page never loads the codecs. */
export type ExportKind =
  | 'mask-png'
  | 'labels'
  | 'labels-tiff'
  | 'probability-tiff'
  | 'uncertainty-tiff'
  | 'objects-csv';

export interface ExportedFile {
  name: string;
  type: string;
  bytes: Uint8Array;
}

/**
 * One finished image of a batch, as the page keeps it until the batch is downloaded: the mask and label images
 * already encoded, the object rows (the CSV is written at download time, with the pixel size then in force).
 */
export interface BatchEntry {
  /** The file's name as picked. */
  image: string;
  /** Prefix of its files in the archive, unique in the batch. */
  output: string;
  page: number;
  width: number;
  height: number;
  objects: ObjectRow[];
  /** What the file declared. */
  pixelSize?: PixelSize;
  channelIntensities?: ChannelIntensities;
  files: ExportedFile[];
}

/** A batch image that could not be segmented, with the message the page showed for it. */
export interface BatchFailure {
  image: string;
  error: string;
}

export type BatchItem = BatchEntry | BatchFailure;

/** Errors cross the worker boundary as plain data: a kind the UI can branch on and a message for people. */
export type EngineErrorKind = 'input' | 'integrity' | 'network' | 'aborted' | 'backend' | 'internal';

export interface EngineErrorData {
  kind: EngineErrorKind;
  message: string;
  /** QuorumInputError's code, for input errors. */
  code?: string;
}

/** The comlink surface of the worker. Every call is a message; big arrays are transferred, not copied. */
export interface EngineApi {
  init(options: InitOptions): Promise<BackendInfo>;
  load(source: EnsembleSource, onProgress?: (p: LoadProgress) => void): Promise<LoadedEnsembleInfo>;
  /** Pages of an image file (1 for PNG/JPEG), read from its header. */
  pages(bytes: Uint8Array, name: string): Promise<number>;
  segment(
    job: number,
    input: SegmentInput,
    options: SegmentOptions,
    onProgress?: (p: SegmentProgress) => void,
  ): Promise<EngineResult>;
  /** Stop job `job` before its next tile. */
  cancel(job: number): void;
  /** Encode the last result. */
  /** `pixelSize` (micrometres per pixel) overrides the result's for the objects CSV's physical columns. */
  exportResult(kind: ExportKind, stem: string, pixelSize?: number): Promise<ExportedFile>;
  /** What a batch keeps of the last result, its files named with `output`. */
  batchEntry(image: string, output: string): Promise<BatchEntry>;
  /**
   * A batch as one ZIP (each image's mask, labels and objects CSV, and summary.csv). `pixelSize` (micrometres per
   * pixel) overrides every file's own.
   */
  batchArchive(items: BatchItem[], provenance: SummaryProvenance, pixelSize?: number): Promise<ExportedFile>;
  memory(): { count: number; bytes: number };
}
