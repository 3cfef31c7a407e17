// The calibration module alone: the page must not pull the decoders or TF.js into its bundle.
import { formatPixelSize, type PixelSize } from '@quorum/shared/calibration';
import sampleUrl from '../../../data/samples/dsb2018-fluo/images/0a849e0eb15faa8a6d7329c3dd66aabe9a294cccb52ed30a90c8ca99092ae732.png?url';
import { EngineClient, type EngineError, toEngineError } from '../engine/client';
import type {
  BatchItem,
  EngineResult,
  ExportKind,
  LoadedEnsembleInfo,
  LoadProgress,
  SegmentOptions,
  SegmentProgress,
} from '../engine/types';
import { BatchList } from '../ui/batch-list';
import { readFile, saveFile, stemOf, uniqueStems } from '../ui/files';
import { errorMessage, formatBytes, progressOf } from '../ui/messages';
import { type OverlayMode, renderOverlay } from '../ui/overlay';
import { ObjectTable } from '../ui/table';
import { appConfig } from './config';
import { registerServiceWorker } from './offline';

/**
 * The hosted app: pick, drop or sample an image; it is decoded and segmented in the engine's worker, and shown with
 * its mask, uncertainty, object count and table, with downloads. The image is only ever read locally.
 */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  drop: $<HTMLLabelElement>('drop'),
  file: $<HTMLInputElement>('file'),
  sample: $<HTMLButtonElement>('sample'),
  page: $<HTMLSelectElement>('page'),
  rule: $<HTMLSelectElement>('rule'),
  tta: $<HTMLInputElement>('tta'),
  pixelSize: $<HTMLInputElement>('pixel-size'),
  backend: $<HTMLSpanElement>('backend'),
  model: $<HTMLSpanElement>('model'),
  progress: $<HTMLProgressElement>('progress'),
  progressLabel: $<HTMLSpanElement>('progress-label'),
  cancel: $<HTMLButtonElement>('cancel'),
  error: $<HTMLParagraphElement>('error'),
  result: $<HTMLElement>('result'),
  canvas: $<HTMLCanvasElement>('canvas'),
  count: $<HTMLElement>('count'),
  showUncertainty: $<HTMLInputElement>('show-uncertainty'),
  timing: $<HTMLSpanElement>('timing'),
  pixel: $<HTMLSpanElement>('pixel'),
  table: $<HTMLTableElement>('objects'),
  batch: $<HTMLElement>('batch'),
  batchStatus: $<HTMLElement>('batch-status'),
  batchDownload: $<HTMLButtonElement>('batch-download'),
  batchBody: $<HTMLTableElement>('batch-table').tBodies[0]!,
};

const config = appConfig(location);
const engine = new EngineClient();
/** The object marked in the image and the table (0: none). */
let selected = 0;
const table = new ObjectTable(ui.table, (id) => {
  selected = id;
  if (result) renderOverlay(ui.canvas, result, overlayMode(), selected);
});

const batchList = new BatchList(ui.batchBody);

let current: { bytes: Uint8Array; name: string } | undefined;
let result: EngineResult | undefined;
let running: AbortController | undefined;
let ensembleInfo: LoadedEnsembleInfo | undefined;
/** The last batch: what each image left for the ZIP, and the options it ran with. */
let batch: { items: BatchItem[]; options: Pick<SegmentOptions, 'rule' | 'tta'> } | undefined;

/**
 * Marks the end of a user action on <body> (`data-outcome`, and `data-settled` counting them), for people's
 * tooling and the browser tests alike.
 */
function settle(outcome: 'done' | 'cancelled' | 'error'): void {
  document.body.dataset['outcome'] = outcome;
  document.body.dataset['settled'] = String(Number(document.body.dataset['settled'] ?? 0) + 1);
}

function showError(message: string | null): void {
  ui.error.hidden = message === null;
  ui.error.textContent = message ?? '';
}

function showProgress(p: LoadProgress | SegmentProgress | null): void {
  if (!p) {
    ui.progress.removeAttribute('value');
    ui.progress.value = 0;
    ui.progressLabel.textContent = '';
    return;
  }
  const { fraction, label } = progressOf(p);
  if (fraction === null) ui.progress.removeAttribute('value');
  else ui.progress.value = fraction;
  ui.progressLabel.textContent = label;
}

const ready = (async () => {
  const backend = await engine.init({ backend: config.backend });
  ui.backend.textContent = backend.detail;
  ui.backend.dataset['name'] = backend.name;
  ui.backend.dataset['threads'] = String(backend.threads);
  ui.backend.title = backend.fallbacks.join('\n');
  const info = await engine.load(
    { edge: config.edge, ensemble: config.ensemble, ...(config.version ? { version: config.version } : {}) },
    showProgress,
  );
  ui.model.textContent =
    `${info.name} ${info.version} (${info.members} members, ${info.rule})` +
    (info.offline ? ' — offline, from the cache' : '') +
    (info.downloaded.files > 0 ? ` — downloaded ${formatBytes(info.downloaded.bytes)}` : ' — from the cache');
  ui.model.dataset['version'] = info.version;
  ensembleInfo = info;
  ui.model.dataset['offline'] = String(info.offline);
  ui.model.dataset['downloaded'] = String(info.downloaded.files);
  showProgress(null);
  ui.progressLabel.textContent = 'Ready.';
  document.body.dataset['ready'] = 'true';
})().catch((e) => {
  const err = toEngineError(e);
  ui.model.textContent = 'not loaded';
  showProgress(null);
  showError(errorMessage(err));
  document.body.dataset['ready'] = 'failed';
  throw err;
});
// The failure is already shown; keep it from also surfacing as an unhandled rejection.
ready.catch(() => {});

/** The options the form says, for one image or every image of a batch. */
function formOptions(page: number): SegmentOptions {
  const rule = ui.rule.value;
  return {
    page,
    tta: ui.tta.checked,
    ...(rule === 'mean' || rule === 'vote' || rule === 'union' ? { rule } : {}),
    adaptive: config.adaptive,
  };
}

async function segmentCurrent(): Promise<void> {
  if (!current) return;
  running?.abort();
  const controller = new AbortController();
  running = controller;
  showError(null);
  ui.cancel.hidden = false;
  try {
    await ready;
    const r = await engine.segment(
      { kind: 'file', bytes: current.bytes.slice(), name: current.name },
      { ...formOptions(Number(ui.page.value) || 0), signal: controller.signal, onProgress: showProgress },
    );
    if (running !== controller) return;
    result = r;
    showResult(r);
    ui.progressLabel.textContent = 'Done.';
    settle('done');
  } catch (e) {
    if (running !== controller) return;
    const err = toEngineError(e);
    showProgress(null);
    if (err.kind === 'aborted') {
      ui.progressLabel.textContent = 'Cancelled.';
      settle('cancelled');
    } else {
      showError(errorMessage(err, current?.name));
      settle('error');
    }
  } finally {
    if (running === controller) {
      running = undefined;
      ui.cancel.hidden = true;
    }
  }
}

function overlayMode(): OverlayMode {
  return ui.showUncertainty.checked ? 'uncertainty' : 'mask';
}

function showResult(r: EngineResult): void {
  ui.result.hidden = false;
  ui.result.dataset['page'] = String(r.page);
  selected = 0;
  renderOverlay(ui.canvas, r, overlayMode());
  ui.count.textContent = String(r.count);
  ui.timing.textContent =
    `${r.width}x${r.height}, ${r.evaluations} tile evaluations` +
    (r.skipped !== undefined ? ` (${r.skipped} skipped)` : '') +
    ` in ${(r.ms.infer / 1000).toFixed(1)} s on ${r.backend.name}`;
  table.show(r.objects, showPixelSize(r));
}

/** The pixel size typed in, in micrometres, or undefined when the field is empty or not a usable number. */
function typedPixelSize(): number | undefined {
  const um = ui.pixelSize.valueAsNumber;
  return um >= 1e-4 && um <= 1e4 ? um : undefined;
}

/** Which pixel size the CSV will use: the one typed in, else the file's; and where it came from. */
/** Says which pixel size applies (typed, else the file's) and returns it. */
function showPixelSize(r: EngineResult): PixelSize | undefined {
  const typed = typedPixelSize();
  const size = typed === undefined ? r.pixelSize : { x: typed, y: typed, source: 'user' as const };
  ui.pixel.textContent = size ? `pixel ${formatPixelSize(size)}` : 'pixel size unknown: areas in px only';
  return size;
}

async function openFile(bytes: Uint8Array, name: string): Promise<void> {
  showError(null);
  ui.batch.hidden = true;
  current = undefined;
  try {
    await ready.catch(() => {});
    const pages = await engine.pages(bytes.slice(), name);
    ui.page.replaceChildren(
      ...Array.from({ length: pages }, (_, i) => new Option(String(i + 1), String(i), i === 0, i === 0)),
    );
    ui.page.disabled = pages < 2;
  } catch (e) {
    // Unreadable: say so, keep the previous result on screen, and stay ready for the next file.
    showError(errorMessage(toEngineError(e) as EngineError, name));
    settle('error');
    return;
  }
  current = { bytes, name };
  await segmentCurrent();
}

/**
 * Several files: each is segmented in turn (first page of a multi-page TIFF) with the options set now; the view
 * shows the latest, the batch table every image's count or error, and "Download all" zips the lot with a summary.
 * A file that cannot be read is listed with its reason and the batch goes on; Cancel stops it after the current
 * image's current tile, keeping what finished.
 */
async function runBatch(files: readonly File[]): Promise<void> {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  showError(null);
  const names = files.map((f) => f.name);
  const outputs = uniqueStems(names);
  const options = formOptions(0);
  const items: BatchItem[] = [];
  batch = { items, options: { ...(options.rule ? { rule: options.rule } : {}), tta: options.tta ?? false } };
  batchList.reset(names);
  // A batch reads first pages only; the page choice belongs to a single file.
  ui.page.replaceChildren(new Option('1', '0', true, true));
  ui.page.disabled = true;
  ui.batch.hidden = false;
  ui.batchDownload.disabled = true;
  ui.cancel.hidden = false;
  const status = (done: number) => {
    const failed = items.filter((i) => 'error' in i).length;
    ui.batchStatus.textContent =
      `${done} of ${files.length} images` + (failed ? `, ${failed} could not be read` : '');
  };
  status(0);
  let cancelled = false;
  try {
    await ready;
    for (const [i, file] of files.entries()) {
      if (controller.signal.aborted) break;
      batchList.set(i, 'running');
      try {
        const bytes = await readFile(file);
        const r = await engine.segment(
          { kind: 'file', bytes, name: file.name },
          { ...options, signal: controller.signal, onProgress: showProgress },
        );
        current = { bytes, name: file.name };
        result = r;
        showResult(r);
        items.push(await engine.batchEntry(file.name, outputs[i]!));
        batchList.set(i, 'done', String(r.count));
      } catch (e) {
        const err = toEngineError(e);
        if (err.kind === 'aborted') {
          cancelled = true;
          batchList.set(i, 'cancelled');
          break;
        }
        const message = errorMessage(err, file.name);
        items.push({ image: file.name, error: message });
        batchList.set(i, 'error', message);
      }
      status(i + 1);
    }
  } catch (e) {
    // The model never loaded: that error is already on screen.
    showError(errorMessage(toEngineError(e)));
  } finally {
    if (running === controller) {
      running = undefined;
      ui.cancel.hidden = true;
    }
  }
  for (let i = items.length; i < files.length; i++) {
    if (controller.signal.aborted) batchList.set(i, 'cancelled');
  }
  ui.batchDownload.disabled = items.length === 0;
  showProgress(null);
  ui.progressLabel.textContent = cancelled || controller.signal.aborted ? 'Batch cancelled.' : 'Batch done.';
  settle(cancelled || controller.signal.aborted ? 'cancelled' : 'done');
}

async function openFiles(files: readonly File[]): Promise<void> {
  if (files.length === 0) return;
  if (files.length > 1) return runBatch(files);
  await openFile(await readFile(files[0]!), files[0]!.name);
}

ui.file.addEventListener('change', async () => {
  const files = [...(ui.file.files ?? [])];
  ui.file.value = '';
  await openFiles(files);
});
ui.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', async (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  await openFiles([...(e.dataTransfer?.files ?? [])]);
});
ui.sample.addEventListener('click', async () => {
  // A bundled asset of this app: a GET of a file, never a send.
  const res = await fetch(sampleUrl);
  await openFile(new Uint8Array(await res.arrayBuffer()), 'dsb2018-sample.png');
});
ui.page.addEventListener('change', () => void segmentCurrent());
// Only the CSV depends on the pixel size: no need to segment again.
ui.pixelSize.addEventListener('input', () => {
  if (result) table.setPixelSize(showPixelSize(result));
});
ui.cancel.addEventListener('click', () => running?.abort());
ui.batchDownload.addEventListener('click', async () => {
  if (!batch || !ensembleInfo) return;
  try {
    const provenance = {
      ensemble: `${ensembleInfo.name} ${ensembleInfo.version}`,
      rule: batch.options.rule ?? ensembleInfo.rule,
      tta: batch.options.tta ?? false,
    };
    saveFile(await engine.batchArchive(batch.items, provenance, typedPixelSize()));
  } catch (e) {
    showError(errorMessage(toEngineError(e)));
  }
});
ui.showUncertainty.addEventListener('change', () => {
  if (result) renderOverlay(ui.canvas, result, overlayMode(), selected);
});
// A click on a nucleus selects it, in the image and in the table; a click on the background clears the selection.
ui.canvas.addEventListener('click', (e) => {
  if (!result) return;
  const box = ui.canvas.getBoundingClientRect();
  const x = Math.floor(((e.clientX - box.left) / box.width) * result.width);
  const y = Math.floor(((e.clientY - box.top) / box.height) * result.height);
  if (x < 0 || y < 0 || x >= result.width || y >= result.height) return;
  selected = result.labels[y * result.width + x] ?? 0;
  table.select(selected);
  renderOverlay(ui.canvas, result, overlayMode(), selected);
});
for (const button of document.querySelectorAll<HTMLButtonElement>('[data-export]')) {
  button.addEventListener('click', async () => {
    if (!result || !current) return;
    try {
      const kind = button.dataset['export'] as ExportKind;
      saveFile(await engine.exportResult(kind, stemOf(current.name), typedPixelSize()));
    } catch (e) {
      showError(errorMessage(toEngineError(e)));
    }
  });
}

registerServiceWorker(config.offline);
