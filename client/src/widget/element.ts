import { AGGREGATION_RULES, type AggregationRule } from '@quorum/shared/manifest';
import { EngineClient, type EngineError, toEngineError } from '../engine/client';
import {
  type AdaptiveMode,
  BACKEND_REQUESTS,
  type BackendInfo,
  type BackendRequest,
  type EngineResult,
  type LoadedEnsembleInfo,
  type LoadProgress,
  type SegmentInput,
  type SegmentProgress,
} from '../engine/types';
import { readFile } from '../ui/files';
import { errorMessage, progressOf } from '../ui/messages';
import { renderOverlay } from '../ui/overlay';
import { WIDGET_CSS } from './styles';

/**
 * `<quorum-segmenter ensemble="dsb2018-fluo" edge="https://EDGE">`: the engine in any page, behind a shadow root
 * (its styles stay in, the page's stay out). Attributes: ensemble, edge (default: where this script came from),
 * version, aggregation (mean | vote | union), tta, adaptive (off | exact), backend (auto | webgpu | wasm | cpu),
 * max-pixels, pixel-size (micrometres per pixel, overriding the file's). Events (bubbling, composed): quorum-ready, quorum-progress, quorum-result, quorum-error.
 * JS: `await el.segment(fileOrBlobOrImageData)`, `el.cancel()`.
 */

/**
 * The edge this script was served from: the default for `edge`. (Not `new URL('./', import.meta.url)`: Vite would
 * take that literal for an asset to bundle.)
 */
const SCRIPT_EDGE = new URL(import.meta.url).origin;

export interface QuorumResultDetail {
  width: number;
  height: number;
  count: number;
  /** 0/1 per pixel. */
  mask: Uint8Array;
  /** Instance ids, 0 background. */
  labels: Uint32Array;
  objects: EngineResult['objects'];
  /** Micrometres per pixel: the `pixel-size` attribute's, else the file's (ImageJ/OME-TIFF); absent when unknown. */
  pixelSize?: EngineResult['pixelSize'];
  /** For a multi-channel image: every channel's mean and integrated intensity per object. */
  channelIntensities?: EngineResult['channelIntensities'];
  probability: Float32Array;
  uncertainty: Float32Array;
  rule: AggregationRule;
  /** Member-tile evaluations run. */
  evaluations: number;
  /** With adaptive="exact": evaluations skipped because they could not change the mask. */
  skipped?: number;
  backend: BackendInfo;
  ensemble: { name: string; version: string };
  ms: EngineResult['ms'];
  tensors: EngineResult['tensors'];
}

export interface QuorumErrorDetail {
  kind: EngineError['kind'];
  message: string;
  code?: string;
}

export type QuorumProgressDetail = LoadProgress | SegmentProgress;

export class QuorumSegmenter extends HTMLElement {
  static readonly observedAttributes = ['ensemble', 'edge', 'version', 'backend'];

  private engine: EngineClient | undefined;
  private backendInfo: Promise<BackendInfo> | undefined;
  private loading: Promise<LoadedEnsembleInfo> | undefined;
  private running: AbortController | undefined;
  private readonly root: ShadowRoot;
  private readonly els: {
    input: HTMLInputElement;
    drop: HTMLLabelElement;
    status: HTMLElement;
    progress: HTMLProgressElement;
    error: HTMLElement;
    canvas: HTMLCanvasElement;
    count: HTMLElement;
  };

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.innerHTML = `
      <style>${WIDGET_CSS}</style>
      <label class="drop" part="drop">
        <input type="file" accept=".png,.jpg,.jpeg,.tif,.tiff,image/png,image/jpeg,image/tiff" />
        <span>Drop an image or <u>choose a file</u></span>
      </label>
      <div class="status" part="status" role="status"></div>
      <progress max="1" hidden></progress>
      <p class="error" role="alert" part="error" hidden></p>
      <canvas part="canvas" hidden></canvas>
      <p class="count" part="count" hidden></p>`;
    const q = <T extends Element>(s: string) => this.root.querySelector(s) as T;
    this.els = {
      input: q('input'),
      drop: q('.drop'),
      status: q('.status'),
      progress: q('progress'),
      error: q('.error'),
      canvas: q('canvas'),
      count: q('.count'),
    };
    this.els.input.addEventListener('change', async () => {
      const file = this.els.input.files?.[0];
      this.els.input.value = '';
      if (file) await this.segment(file).catch(() => {});
    });
    this.els.drop.addEventListener('dragover', (e) => e.preventDefault());
    this.els.drop.addEventListener('drop', async (e) => {
      e.preventDefault();
      const file = e.dataTransfer?.files[0];
      if (file) await this.segment(file).catch(() => {});
    });
  }

  connectedCallback(): void {
    void this.ready().catch(() => {});
  }

  disconnectedCallback(): void {
    this.running?.abort();
    this.engine?.terminate();
    this.engine = undefined;
    this.backendInfo = undefined;
    this.loading = undefined;
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (old === value || !this.engine) return;
    // A new source or backend takes effect from the next load; start it now if the element is live.
    if (name === 'backend') this.backendInfo = undefined;
    this.loading = undefined;
    if (this.isConnected) void this.ready().catch(() => {});
  }

  get ensemble(): string {
    return this.getAttribute('ensemble') ?? 'dsb2018-fluo';
  }
  get edge(): string {
    return this.getAttribute('edge') || SCRIPT_EDGE;
  }
  private get rule(): AggregationRule | undefined {
    const v = this.getAttribute('aggregation');
    return AGGREGATION_RULES.includes(v as AggregationRule) ? (v as AggregationRule) : undefined;
  }
  private get backendRequest(): BackendRequest {
    const v = this.getAttribute('backend') ?? 'auto';
    return BACKEND_REQUESTS.includes(v as BackendRequest) ? (v as BackendRequest) : 'auto';
  }
  private get adaptive(): AdaptiveMode {
    // Exact by default: the mask is identical to running every member, only unneeded evaluations are skipped.
    return this.getAttribute('adaptive') === 'off' ? 'off' : 'exact';
  }

  /** Backend up and ensemble loaded (started on connect; awaited by segment). */
  ready(): Promise<LoadedEnsembleInfo> {
    this.engine ??= new EngineClient();
    const engine = this.engine;
    this.backendInfo ??= engine.init({ backend: this.backendRequest });
    if (!this.loading) {
      const version = this.getAttribute('version');
      const loading = this.backendInfo
        .then(() =>
          engine.load({ edge: this.edge, ensemble: this.ensemble, ...(version ? { version } : {}) }, (p) =>
            this.progress(p),
          ),
        )
        .then(async (info) => {
          const backend = await this.backendInfo!;
          this.els.progress.hidden = true;
          this.els.status.textContent = `${info.name} ${info.version} · ${backend.detail}`;
          this.emit('quorum-ready', { ensemble: info, backend });
          return info;
        });
      loading.catch((e) => {
        if (this.loading === loading) {
          // Retry from scratch on the next call.
          this.loading = undefined;
          this.backendInfo = undefined;
        }
        this.fail(toEngineError(e));
      });
      this.loading = loading;
    }
    return this.loading;
  }

  /** Segment a File/Blob (PNG, JPEG, TIFF) or ImageData. Resolves with what `quorum-result` carries. */
  async segment(source: Blob | ImageData): Promise<QuorumResultDetail> {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    this.els.error.hidden = true;
    const name = source instanceof File ? source.name : 'image';
    try {
      await this.ready();
      const input: SegmentInput =
        source instanceof Blob
          ? { kind: 'file', bytes: await readFile(source), name }
          : { kind: 'rgba', data: source.data, width: source.width, height: source.height, name };
      const maxPixels = Number(this.getAttribute('max-pixels'));
      const pixelSize = Number(this.getAttribute('pixel-size'));
      const r = await this.engine!.segment(input, {
        tta: this.hasAttribute('tta') && this.getAttribute('tta') !== 'false',
        adaptive: this.adaptive,
        ...(this.rule ? { rule: this.rule } : {}),
        ...(maxPixels > 0 ? { maxPixels } : {}),
        ...(this.hasAttribute('pixel-size') ? { pixelSize } : {}),
        signal: controller.signal,
        onProgress: (p) => this.progress(p),
      });
      const detail: QuorumResultDetail = {
        width: r.width,
        height: r.height,
        count: r.count,
        mask: r.mask,
        labels: r.labels,
        objects: r.objects,
        ...(r.pixelSize ? { pixelSize: r.pixelSize } : {}),
        ...(r.channelIntensities ? { channelIntensities: r.channelIntensities } : {}),
        probability: r.probability,
        uncertainty: r.uncertainty,
        rule: r.rule,
        evaluations: r.evaluations,
        ...(r.skipped !== undefined ? { skipped: r.skipped } : {}),
        backend: r.backend,
        ensemble: r.ensemble,
        ms: r.ms,
        tensors: r.tensors,
      };
      this.els.progress.hidden = true;
      this.els.status.textContent = `Done in ${(r.ms.total / 1000).toFixed(1)} s · ${r.ensemble.name} ${r.ensemble.version} · ${r.backend.detail}`;
      this.els.canvas.hidden = false;
      renderOverlay(this.els.canvas, r, 'mask');
      this.els.count.hidden = false;
      this.els.count.textContent = `${r.count} object${r.count === 1 ? '' : 's'}`;
      this.emit('quorum-result', detail);
      return detail;
    } catch (e) {
      const err = toEngineError(e);
      if (this.running === controller) this.fail(err, name);
      throw err;
    } finally {
      if (this.running === controller) this.running = undefined;
    }
  }

  cancel(): void {
    this.running?.abort();
  }

  private progress(p: QuorumProgressDetail): void {
    const { fraction, label } = progressOf(p);
    this.els.progress.hidden = false;
    if (fraction === null) this.els.progress.removeAttribute('value');
    else this.els.progress.value = fraction;
    this.els.status.textContent = label;
    this.emit('quorum-progress', p);
  }

  private fail(err: EngineError, fileName?: string): void {
    this.els.progress.hidden = true;
    this.els.error.hidden = false;
    this.els.error.textContent = errorMessage(err, fileName);
    const detail: QuorumErrorDetail = {
      kind: err.kind,
      message: err.message,
      ...(err.code ? { code: err.code } : {}),
    };
    this.emit('quorum-error', detail);
  }

  private emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}
