/**
 * Quorum WebGPU check on a real GPU, in Node through dawn.node (bundled by build.mjs into check.mjs).
 *
 * Runs the product's own code: the browser engine's backend set-up (client/src/engine/backend.ts selectBackend,
 * forced to 'webgpu' then 'wasm'), the Node loader that verifies the ensemble (train/src/store/load-ensemble.ts:
 * parseManifest + loadMember + tfEnsembleRunner), the engine's guardedRunner, and segmentImage with the
 * manifest's spec. Synthetic images come from the browser benchmark's generator (test/helpers/browser-images.ts).
 *
 * Usage: node check.mjs [--ensemble DIR] [--out DIR] [--sizes 2048] [--quick] [--dawn PATH] [--dawn-flags a,b]
 *        [--members N] [--runs N] [--guard SECONDS] [--synthetic N] [--sample ID] [--backends webgpu,wasm]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  compileForward,
  createRaster,
  decodeImage,
  type EnsembleRunner,
  type Mask,
  pixelScores,
  type RasterImage,
  type Segmentation,
  type SegmentOptions,
  segmentImage,
  tfEnsembleRunner,
  toSingleChannel,
} from '@quorum/shared';
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../client/src/engine/backend';
import { guardedRunner } from '../../../client/src/engine/guarded-runner';
import { nucleiTiff16 } from '../../../test/helpers/browser-images';
import { type LoadedEnsemble, loadEnsembleDir } from '../../../train/src/store/load-ensemble';
import { describeAdapter, installNavigatorGpu, loadDawn } from './gpu';

const T0 = performance.now();
const KIT_DIR = dirname(fileURLToPath(import.meta.url));

const { values: a } = parseArgs({
  options: {
    ensemble: { type: 'string' },
    out: { type: 'string' },
    sizes: { type: 'string' },
    quick: { type: 'boolean', default: false },
    dawn: { type: 'string' },
    'dawn-flags': { type: 'string' },
    members: { type: 'string' },
    runs: { type: 'string' },
    guard: { type: 'string' },
    synthetic: { type: 'string' },
    sample: { type: 'string' },
    backends: { type: 'string' },
    'wasm-reserve': { type: 'string' },
    'wasm-sizes': { type: 'string' },
    batches: { type: 'string' },
  },
  strict: true,
});

const QUICK = a.quick === true;
const OUT = resolve(a.out ?? process.env.OUT ?? './out');
const GUARD_S = Number(a.guard ?? process.env.QUORUM_GUARD_S ?? 240);
const RUNS = Math.max(1, Number(a.runs ?? (QUICK ? 1 : 3)));
const SPEED_SIZES = (a.sizes ?? (QUICK ? '' : '2048'))
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => n > 0);
// The big-image runs on WASM too (off by default: too slow there; used to test this code path without a GPU).
const WASM_SIZES = (a['wasm-sizes'] ?? '')
  .split(',')
  .map((x) => Number(x.trim()))
  .filter((n) => n > 0);
const SYNTH = Number(a.synthetic ?? (QUICK ? 64 : 512));
const CROP = QUICK ? 64 : 0; // quick: the real sample cropped to 64x64
const TILE_FORWARD = QUICK ? 64 : 512;
const FORWARD_RUNS = { webgpu: QUICK ? 2 : 10, wasm: QUICK ? 2 : 5 };
const BATCHES = String(a.batches ?? '1,8')
  .split(',')
  .map(Number);
// Two real 256x256 CC0 samples: a held-out test image (9 nuclei) and a training image with 50 nuclei.
const SAMPLE_IDS = (
  a.sample ??
  '0e132f71c8b4875c3c2dd7a22997468a3e842b46aa9bd47cf7b0e8b7d63f0925,0a849e0eb15faa8a6d7329c3dd66aabe9a294cccb52ed30a90c8ca99092ae732'
)
  .split(',')
  .map((x) => x.trim())
  .filter(Boolean);
const BACKENDS = (a.backends ?? 'webgpu,wasm').split(',').map((s) => s.trim());
// Seconds kept free for the WASM stages when the WebGPU speed runs would eat the guard.
const WASM_RESERVE_S = Number(a['wasm-reserve'] ?? (BACKENDS.includes('wasm') ? 60 : 0));
const DAWN_PATH = a.dawn ?? process.env.QUORUM_DAWN_NODE ?? join(KIT_DIR, 'dawn.node');
const DAWN_FLAGS = (a['dawn-flags'] ?? process.env.QUORUM_DAWN_FLAGS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

function findDir(rel: string, explicit?: string): string {
  if (explicit) return resolve(explicit);
  for (const base of [process.cwd(), resolve(KIT_DIR, '../..'), resolve(KIT_DIR, '../../..')]) {
    const p = join(base, rel);
    if (existsSync(p)) return p;
  }
  return resolve(rel);
}
const ENSEMBLE_DIR = findDir('models/dsb2018-fluo', a.ensemble);
const SAMPLES_DIR = findDir('data/samples/dsb2018-fluo');

// ---------------------------------------------------------------------------------------------------------------
// Results, stages, guard

const elapsedS = () => (performance.now() - T0) / 1000;
const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type Json = any;
const results: Json = {
  tool: 'quorum webgpu check (.scratch/webgpu-dev)',
  startedAt: new Date().toISOString(),
  meta: {},
  gpu: {},
  backends: {},
  stages: {},
  correctness: {},
  speed: { webgpu: {}, wasm: {} },
  notes: [] as string[],
  summary: [] as string[],
};

function save(): void {
  results.elapsedS = round(elapsedS(), 1);
  try {
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  } catch (e) {
    console.error(`[check] cannot write results.json: ${(e as Error).message}`);
  }
}

function log(s: string): void {
  console.log(`[check ${elapsedS().toFixed(1)}s] ${s}`);
}

function errorInfo(e: unknown): { message: string; stack?: string } {
  if (e instanceof Error)
    return { message: e.message, ...(e.stack ? { stack: e.stack.split('\n').slice(0, 8).join('\n') } : {}) };
  return { message: String(e) };
}

const overGuard = (reserveS = 0) => elapsedS() > GUARD_S - reserveS;

async function stage<T>(name: string, fn: () => Promise<T>, reserveS = 0): Promise<T | undefined> {
  if (overGuard(reserveS)) {
    results.stages[name] = {
      skipped: `time guard (${GUARD_S}s${reserveS ? `, ${reserveS}s kept for later stages` : ''}) reached at ${round(elapsedS(), 1)}s`,
    };
    log(`${name}: SKIPPED (time guard)`);
    save();
    return undefined;
  }
  const t = performance.now();
  log(`${name}…`);
  try {
    const r = await fn();
    results.stages[name] = { ok: true, ms: round(performance.now() - t, 1) };
    return r;
  } catch (e) {
    results.stages[name] = { ok: false, ms: round(performance.now() - t, 1), error: errorInfo(e) };
    log(`${name}: FAILED: ${errorInfo(e).message}`);
    return undefined;
  } finally {
    save();
  }
}

process.on('unhandledRejection', (e) => {
  results.unhandled ??= [];
  results.unhandled.push(errorInfo(e));
  save();
});

// ---------------------------------------------------------------------------------------------------------------
// Images

function crop(img: RasterImage, w: number, h: number, x0: number, y0: number): RasterImage {
  const Typed = img.data.constructor as { new (n: number): RasterImage['data'] };
  const out = new Typed(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out[y * w + x] = img.data[(y0 + y) * img.width + x0 + x]!;
  }
  return createRaster(w, h, 1, out);
}

/** The size x size window (on a 16-pixel grid) holding the most foreground of a mask: quick mode's crop. */
function densestWindow(m: RasterImage, size: number): { x0: number; y0: number } {
  let best = { x0: 0, y0: 0, n: -1 };
  for (let y0 = 0; y0 + size <= m.height; y0 += 16) {
    for (let x0 = 0; x0 + size <= m.width; x0 += 16) {
      let n = 0;
      for (let y = y0; y < y0 + size; y++)
        for (let x = x0; x < x0 + size; x++) if (m.data[y * m.width + x]) n++;
      if (n > best.n) best = { x0, y0, n };
    }
  }
  return best;
}

function loadSample(id: string): { image: RasterImage; truth: Mask | null; name: string } {
  const file = join(SAMPLES_DIR, 'images', `${id}.png`);
  let image = toSingleChannel(decodeImage(new Uint8Array(readFileSync(file)), { name: file }), 'auto', file);
  let truth: Mask | null = null;
  let m: RasterImage | null = null;
  const maskFile = join(SAMPLES_DIR, 'masks', `${id}.png`);
  if (existsSync(maskFile))
    m = toSingleChannel(decodeImage(new Uint8Array(readFileSync(maskFile)), { name: maskFile }), 'auto');
  let where = '';
  if (CROP) {
    const { x0, y0 } = m ? densestWindow(m, CROP) : { x0: 0, y0: 0 };
    image = crop(image, CROP, CROP, x0, y0);
    if (m) m = crop(m, CROP, CROP, x0, y0);
    where = ` cropped at ${x0},${y0}`;
  }
  if (m)
    truth = { width: m.width, height: m.height, data: Uint8Array.from(m.data, (v) => (v !== 0 ? 1 : 0)) };
  return {
    image,
    truth,
    name: `sample ${id.slice(0, 12)} (${image.width}x${image.height}, ${image.bitDepth}-bit${where})`,
  };
}

/** The browser benchmark's image: synthetic nuclei as a 16-bit TIFF, decoded the way the engine decodes files. */
function synthetic(size: number, seed: number): RasterImage {
  const bytes = nucleiTiff16(size, size, seed);
  return toSingleChannel(decodeImage(bytes, { name: `synthetic-${size}.tif` }), 'auto');
}

// ---------------------------------------------------------------------------------------------------------------
// Backends and ensembles

interface Active {
  name: 'webgpu' | 'wasm';
  ensemble: LoadedEnsemble;
  runner: EnsembleRunner;
  members: number;
}

let active: Active | undefined;

function memberCount(total: number): number {
  const n = a.members ? Number(a.members) : QUICK ? 2 : total;
  return Math.max(1, Math.min(total, n));
}

/** The engine's backend set-up (forced), then the ensemble loaded and verified on it, wrapped like the engine. */
async function activate(name: 'webgpu' | 'wasm'): Promise<Active> {
  if (active) {
    active.ensemble.dispose();
    active = undefined;
  }
  const info = await selectBackend([name], { forced: name });
  const backendInfo: Json = {
    ...info,
    tfBackend: tf.getBackend(),
    registered: Object.keys((tf.engine() as Json).registryFactory ?? {}),
  };
  if (name === 'webgpu') {
    const be = tf.backend() as Json;
    backendInfo.tfAdapterInfo = be.adapterInfo
      ? { vendor: be.adapterInfo.vendor, architecture: be.adapterInfo.architecture }
      : null;
    const flags: Json = {};
    for (const f of Object.keys(tf.env().getFlags())) if (f.startsWith('WEBGPU')) flags[f] = tf.env().get(f);
    backendInfo.flags = flags;
    backendInfo.deviceFeatures = be.device ? [...be.device.features].sort() : null;
  } else {
    backendInfo.flags = {
      WASM_HAS_SIMD_SUPPORT: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      WASM_HAS_MULTITHREAD_SUPPORT: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    };
  }
  if (tf.getBackend() !== name) throw new Error(`asked for ${name} but TF.js runs ${tf.getBackend()}`);
  results.backends[name] = backendInfo;
  log(`backend ${name}: ${info.detail} (tf.getBackend() = ${tf.getBackend()})`);
  const tl = performance.now();
  const ensemble = await loadEnsembleDir(ENSEMBLE_DIR);
  backendInfo.loadMs = round(performance.now() - tl, 1);
  const total = ensemble.manifest.members.length;
  const k = memberCount(total);
  const inner =
    k === total
      ? ensemble.runner
      : tfEnsembleRunner(
          ensemble.models.slice(0, k),
          ensemble.manifest.members.slice(0, k).map((m) => ({ id: m.id, mode: m.mode })),
        );
  // As the browser engine does: every member call goes through guardedRunner (a macrotask yield + abort check).
  const guarded = guardedRunner(inner, new AbortController().signal);
  if ((inner.channels ?? 1) !== 1) {
    results.notes.push(
      `members have ${inner.channels} output channels; client guardedRunner does not forward 'channels', re-added here`,
    );
  }
  const runner: EnsembleRunner =
    (inner.channels ?? 1) !== 1 ? { ...guarded, channels: inner.channels! } : guarded;
  backendInfo.members = k;
  backendInfo.membersInManifest = total;
  active = { name, ensemble, runner, members: k };
  return active;
}

interface Timed {
  seg: Segmentation;
  ms: number;
  inferMs: number;
}

async function timedSegment(image: RasterImage, options: SegmentOptions = {}): Promise<Timed> {
  const act = active!;
  let tInfer = Number.NaN;
  const t = performance.now();
  const seg = await segmentImage(image, act.ensemble.manifest, act.runner, {
    adaptive: 'off',
    ...options,
    onProgress: (p) => {
      if (p.done === p.total) tInfer = performance.now();
    },
  });
  const end = performance.now();
  return { seg, ms: end - t, inferMs: (Number.isNaN(tInfer) ? end : tInfer) - t };
}

const mp = (img: { width: number; height: number }) => (img.width * img.height) / 1e6;

/** Compiled WebGPU pipelines so far (a count that grows during timed runs would mean shaders recompile). */
function pipelines(): number | undefined {
  const be = tf.backend() as Json;
  return tf.getBackend() === 'webgpu' && be.pipelineCache ? Object.keys(be.pipelineCache).length : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Stages

interface Kept {
  probability: Float32Array;
  mask: Mask;
  count: number;
  ms: number;
}
const kept: Record<string, Partial<Record<'webgpu' | 'wasm', Kept>>> = {};

async function correctness(
  backend: 'webgpu' | 'wasm',
  images: { key: string; image: RasterImage; truth: Mask | null; name: string }[],
) {
  for (const { key, image, truth, name } of images) {
    const { seg, ms } = await timedSegment(image);
    results.correctness[key] ??= { image: name, width: image.width, height: image.height };
    const entry: Json = results.correctness[key];
    entry[backend] = {
      count: seg.count,
      foregroundPixels: seg.mask.data.reduce((s, v) => s + (v ? 1 : 0), 0),
      evaluations: seg.evaluations,
      ms: round(ms, 1),
      ...(truth ? { diceVsTruth: round(pixelScores(seg.mask, truth).dice, 4) } : {}),
    };
    kept[key] ??= {};
    kept[key][backend] = { probability: seg.probability, mask: seg.mask, count: seg.count, ms };
    log(`  ${backend} ${key}: ${seg.count} objects, ${round(ms, 0)} ms`);
    const g = kept[key]!.webgpu;
    const w = kept[key]!.wasm;
    if (g && w) {
      let maxDiff = 0;
      let sumDiff = 0;
      let crossed = 0;
      for (let i = 0; i < g.probability.length; i++) {
        const d = Math.abs(g.probability[i]! - w.probability[i]!);
        if (d > maxDiff) maxDiff = d;
        sumDiff += d;
        if (g.probability[i]! >= 0.5 !== w.probability[i]! >= 0.5) crossed++;
      }
      const px = pixelScores(g.mask, w.mask);
      entry.agreement = {
        maxAbsProbabilityDiff: maxDiff,
        meanAbsProbabilityDiff: sumDiff / g.probability.length,
        pixelsCrossing05: crossed,
        maskDice: px.dice,
        maskPixelsDiffering: px.fp + px.fn,
        countWebgpu: g.count,
        countWasm: w.count,
        countsEqual: g.count === w.count,
      };
      log(
        `  agreement ${key}: max|dp| ${maxDiff.toExponential(2)}, mask Dice ${px.dice.toFixed(6)}, counts ${g.count}/${w.count}`,
      );
    }
  }
}

/** One member's forward on one size x size tile through the product's runner (upload + forward + read back). */
async function memberForward(backend: 'webgpu' | 'wasm', size: number, runs: number) {
  const act = active!;
  const img = synthetic(size, 7);
  const tile = new Float32Array(size * size);
  for (let i = 0; i < tile.length; i++) tile[i] = Math.min(1, (img.data[i] as number) / 40000);
  const t0 = performance.now();
  await act.runner.predict(0, tile, 1, size, size);
  const firstMs = performance.now() - t0;
  await act.runner.predict(0, tile, 1, size, size);
  const pipelinesBefore = pipelines();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const out = await act.runner.predict(0, tile, 1, size, size);
    times.push(performance.now() - t);
    if (out.length !== size * size * (act.runner.channels ?? 1))
      throw new Error(`forward returned ${out.length} values`);
  }
  const med = median(times);
  results.speed[backend].memberForward = {
    size: `${size}x${size}`,
    firstCallMs: round(firstMs, 1),
    runsMs: times.map((x) => round(x, 2)),
    medianMs: round(med, 2),
    msPerMegapixelPerMember: round(med / ((size * size) / 1e6), 2),
    tensorsAfter: tf.memory().numTensors,
    ...(pipelinesBefore !== undefined
      ? { pipelinesBeforeTimed: pipelinesBefore, pipelinesAfterTimed: pipelines() }
      : {}),
  };
  log(
    `  ${backend} member forward ${size}x${size}: median ${round(med, 2)} ms (first call ${round(firstMs, 0)} ms)`,
  );
}

/** A batch of `count` tiles in one member call against the same tiles one by one (segmentImage's batchSize path). */
async function batchConsistency(backend: 'webgpu' | 'wasm', size: number, count: number) {
  const act = active!;
  const img = synthetic(size * 2, 11);
  const tiles = new Float32Array(count * size * size);
  for (let k = 0; k < count; k++) {
    const ox = (k % 2) * size;
    const oy = (k >> 1) % 2 ? size : 0;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        tiles[k * size * size + y * size + x] = Math.min(
          1,
          (img.data[(oy + y) * size * 2 + ox + x] as number) / 40000 + k * 0.01,
        );
  }
  const batched = await act.runner.predict(0, tiles, count, size, size);
  let maxDiff = 0;
  for (let k = 0; k < count; k++) {
    const one = await act.runner.predict(
      0,
      tiles.slice(k * size * size, (k + 1) * size * size),
      1,
      size,
      size,
    );
    for (let i = 0; i < one.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(one[i]! - batched[k * one.length + i]!));
  }
  results.correctness.batchConsistency ??= {};
  results.correctness.batchConsistency[backend] = {
    tiles: count,
    size: `${size}x${size}`,
    maxAbsDiffBatchVsSingle: maxDiff,
  };
  log(`  ${backend} batch of ${count} vs single tiles (${size}x${size}): max|d| ${maxDiff.toExponential(2)}`);
}

/**
 * GPU time of one member forward from WebGPU timestamp queries (tf.time: kernelMs is the sum of the dispatches'
 * GPU time, against the wall time of the same call), and which programs take it. Same fused forward as the runner.
 */
async function gpuProfile(size: number, runs: number) {
  const model = active!.ensemble.models[0]!;
  const fwd = compileForward(model) ?? ((x: tf.Tensor4D) => model.predict(x) as tf.Tensor4D);
  const x = tf.randomUniform([1, size, size, 1]) as tf.Tensor4D;
  try {
    const warm = fwd(x);
    await warm.data();
    warm.dispose();
    const out: Json = {
      size: `${size}x${size}`,
      runs: [] as Json[],
      programs: {} as Record<string, { calls: number; ms: number }>,
    };
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      const info = (await tf.time(() => {
        tf.tidy(() => {
          fwd(x);
        });
      })) as Json;
      out.runs.push({
        kernelMs: round(info.kernelMs, 3),
        wallMs: round(info.wallMs, 3),
        outerMs: round(performance.now() - t, 3),
      });
      if (r === runs - 1 && typeof info.getExtraProfileInfo === 'function') {
        for (const part of String(info.getExtraProfileInfo()).split(', ')) {
          const i = part.lastIndexOf(': ');
          if (i < 0) continue;
          const name = part.slice(0, i);
          const ms = Number(part.slice(i + 2));
          out.programs[name] ??= { calls: 0, ms: 0 };
          const p = out.programs[name];
          p.calls++;
          p.ms = round(p.ms + (Number.isFinite(ms) ? ms : 0), 4);
        }
      }
    }
    out.programs = Object.fromEntries(
      Object.entries(out.programs as Record<string, { ms: number }>).sort((p, q) => q[1].ms - p[1].ms),
    );
    out.medianKernelMs = median(out.runs.map((r: Json) => r.kernelMs));
    out.medianOuterMs = median(out.runs.map((r: Json) => r.outerMs));
    out.dispatches = Object.values(out.programs as Record<string, { calls: number }>).reduce(
      (n, p) => n + p.calls,
      0,
    );
    results.speed.webgpu.profile = out;
    log(
      `  webgpu profile ${size}x${size}: GPU kernel time ${out.medianKernelMs} ms of ${out.medianOuterMs} ms, ${out.dispatches} dispatches`,
    );
  } finally {
    x.dispose();
  }
}

async function ensembleSpeed(
  backend: 'webgpu' | 'wasm',
  image: RasterImage,
  label: string,
  configs: { batchSize: number; adaptive: 'off' | 'exact' }[],
  runs: number,
  warmup: boolean,
  reserveS: number,
) {
  const act = active!;
  results.speed[backend].ensemble ??= [];
  const list: Json[] = results.speed[backend].ensemble;
  for (const cfg of configs) {
    const entry: Json = {
      image: label,
      size: `${image.width}x${image.height}`,
      members: act.members,
      batchSize: cfg.batchSize,
      adaptive: cfg.adaptive,
      runsMs: [],
      inferMs: [],
    };
    list.push(entry);
    if (overGuard(reserveS)) {
      entry.skipped = `time guard reached at ${round(elapsedS(), 1)}s`;
      save();
      continue;
    }
    try {
      if (warmup) {
        const w = await timedSegment(image, cfg);
        entry.warmupMs = round(w.ms, 1);
      }
      entry.pipelinesBeforeTimed = pipelines();
      let last: Segmentation | undefined;
      for (let r = 0; r < runs; r++) {
        if (r > 0 && overGuard(reserveS)) {
          entry.truncated = `time guard: ${r} of ${runs} runs`;
          break;
        }
        const t = await timedSegment(image, cfg);
        entry.runsMs.push(round(t.ms, 1));
        entry.inferMs.push(round(t.inferMs, 1));
        last = t.seg;
      }
      const med = median(entry.runsMs);
      entry.medianMs = med;
      entry.medianInferMs = median(entry.inferMs);
      entry.msPerMegapixelPerMember = round(med / mp(image) / act.members, 2);
      entry.inferMsPerMegapixelPerMember = round(entry.medianInferMs / mp(image) / act.members, 2);
      if (last) {
        entry.count = last.count;
        entry.evaluations = last.evaluations;
        entry.fullEvaluations = last.fullEvaluations;
      }
      entry.tensorsAfter = tf.memory().numTensors;
      entry.pipelinesAfterTimed = pipelines();
      log(
        `  ${backend} ${entry.size} batch ${cfg.batchSize} adaptive ${cfg.adaptive}: median ${round(med, 0)} ms ` +
          `(${entry.msPerMegapixelPerMember} ms/MP/member; infer ${round(entry.medianInferMs, 0)} ms; ` +
          `${entry.evaluations}/${entry.fullEvaluations} evals, ${entry.count} objects)`,
      );
    } catch (e) {
      entry.error = errorInfo(e);
      log(
        `  ${backend} ${entry.size} batch ${cfg.batchSize} adaptive ${cfg.adaptive}: FAILED ${entry.error.message}`,
      );
    }
    save();
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** The benchmark image at `size`: warm-up + RUNS timed runs for each batch size x adaptive mode. */
async function bigImageSpeed(backend: 'webgpu' | 'wasm', size: number, reserveS: number) {
  await stage(
    `${backend}-ensemble-${size}`,
    async () => {
      const img = synthetic(size, 4); // bench/client.ts: nucleiTiff16(SIZE, SIZE, 4)
      const configs = BATCHES.flatMap((batchSize) =>
        (['off', 'exact'] as const).map((adaptive) => ({ batchSize, adaptive })),
      );
      await ensembleSpeed(
        backend,
        img,
        `synthetic nuclei ${size}x${size} 16-bit TIFF (bench/client.ts, seed 4)`,
        configs,
        RUNS,
        true,
        reserveS,
      );
    },
    reserveS,
  );
}

async function main(): Promise<void> {
  results.meta = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: round(totalmem() / 2 ** 30, 1),
    tfjs: { ...tf.version, 'tfjs-backend-wasm': version_wasm },
    cwd: process.cwd(),
    argv: process.argv.slice(2),
    options: {
      quick: QUICK,
      ensemble: ENSEMBLE_DIR,
      samplesDir: SAMPLES_DIR,
      samples: SAMPLE_IDS,
      out: OUT,
      speedSizes: SPEED_SIZES,
      wasmSizes: WASM_SIZES,
      synthetic: SYNTH,
      runs: RUNS,
      batches: BATCHES,
      guardS: GUARD_S,
      wasmReserveS: WASM_RESERVE_S,
      backends: BACKENDS,
      dawn: DAWN_PATH,
      dawnFlags: DAWN_FLAGS,
    },
    env: {
      VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES,
      VK_DRIVER_FILES: process.env.VK_DRIVER_FILES,
      LD_LIBRARY_PATH: process.env.LD_LIBRARY_PATH,
      NVIDIA_VISIBLE_DEVICES: process.env.NVIDIA_VISIBLE_DEVICES,
      NVIDIA_DRIVER_CAPABILITIES: process.env.NVIDIA_DRIVER_CAPABILITIES,
    },
  };
  log(`ensemble ${ENSEMBLE_DIR}; out ${OUT}; guard ${GUARD_S}s${QUICK ? '; QUICK' : ''}`);
  save();

  // a. WebGPU adapter (dawn.node), installed as navigator.gpu before the webgpu backend module is evaluated.
  let haveGpu = false;
  if (BACKENDS.includes('webgpu')) {
    await stage('gpu-adapter', async () => {
      results.gpu.dawnPath = DAWN_PATH;
      const dawn = loadDawn(DAWN_PATH);
      // The default first (as a browser would), then cheap variants only if it finds nothing.
      const variants = [
        DAWN_FLAGS,
        ...(DAWN_FLAGS.length
          ? []
          : [['backend=vulkan'], ['enable-dawn-features=allow_unsafe_apis'], ['backend=opengles']]),
      ];
      const tried: Json[] = [];
      for (const flags of variants) {
        try {
          const gpu = dawn.create(flags);
          const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
          tried.push({ flags, adapter: adapter ? describeAdapter(adapter) : null });
          if (adapter) {
            installNavigatorGpu(gpu);
            results.gpu.flags = flags;
            results.gpu.adapter = describeAdapter(adapter);
            try {
              results.gpu.wgslLanguageFeatures = [...gpu.wgslLanguageFeatures].sort();
            } catch {}
            haveGpu = true;
            break;
          }
        } catch (e) {
          tried.push({ flags, error: errorInfo(e).message });
        }
      }
      if (tried.length > 1) results.gpu.variantsTried = tried;
      if (!haveGpu) throw new Error('dawn.node found no WebGPU adapter (see gpu.variantsTried)');
      const ad = results.gpu.adapter;
      log(
        `adapter: ${ad.vendor} / ${ad.architecture} / ${ad.device} / ${ad.description}; fallback=${ad.isFallbackAdapter}; ` +
          `maxBufferSize=${ad.limits.maxBufferSize} maxStorageBufferBindingSize=${ad.limits.maxStorageBufferBindingSize}`,
      );
    });
  }

  const sample = await stage('load-images', async () => {
    const syn = synthetic(SYNTH, 5);
    return [
      ...SAMPLE_IDS.map((id) => ({ key: `sample-${id.slice(0, 8)}`, ...loadSample(id) })),
      {
        key: `synthetic${SYNTH}`,
        image: syn,
        truth: null,
        name: `synthetic nuclei ${SYNTH}x${SYNTH} 16-bit TIFF (seed 5)`,
      },
    ];
  });
  const images = sample ?? [];

  // b + c on WebGPU
  if (haveGpu) {
    const ok = await stage('webgpu-init', () => activate('webgpu'));
    if (ok) {
      await stage('webgpu-correctness', () => correctness('webgpu', images), WASM_RESERVE_S);
      await stage(
        'webgpu-batch-consistency',
        () => batchConsistency('webgpu', QUICK ? 64 : 256, QUICK ? 2 : 8),
        WASM_RESERVE_S,
      );
      await stage(
        'webgpu-member-forward',
        () => memberForward('webgpu', TILE_FORWARD, FORWARD_RUNS.webgpu),
        WASM_RESERVE_S,
      );
      await stage('webgpu-profile', () => gpuProfile(TILE_FORWARD, QUICK ? 1 : 3), WASM_RESERVE_S);
      const syn = images.find((i) => i.key.startsWith('synthetic'));
      if (syn) {
        await stage(
          'webgpu-ensemble-synthetic',
          () =>
            ensembleSpeed(
              'webgpu',
              syn.image,
              syn.name,
              [{ batchSize: 4, adaptive: 'off' }],
              QUICK ? 1 : 3,
              false,
              WASM_RESERVE_S,
            ),
          WASM_RESERVE_S,
        );
      }
      for (const size of SPEED_SIZES) await bigImageSpeed('webgpu', size, WASM_RESERVE_S);
    }
  } else if (BACKENDS.includes('webgpu')) {
    results.notes.push('WebGPU stages skipped: no adapter');
  }

  // b + c on WASM (CPU baseline)
  if (BACKENDS.includes('wasm')) {
    const ok = await stage('wasm-init', () => activate('wasm'));
    if (ok) {
      await stage('wasm-correctness', () => correctness('wasm', images));
      await stage('wasm-batch-consistency', () => batchConsistency('wasm', QUICK ? 64 : 256, QUICK ? 2 : 8));
      await stage('wasm-member-forward', () => memberForward('wasm', TILE_FORWARD, FORWARD_RUNS.wasm));
      const syn = images.find((i) => i.key.startsWith('synthetic'));
      if (syn) {
        await stage('wasm-ensemble-synthetic', () =>
          ensembleSpeed('wasm', syn.image, syn.name, [{ batchSize: 4, adaptive: 'off' }], 1, false, 0),
        );
      }
      for (const size of WASM_SIZES) await bigImageSpeed('wasm', size, 0);
    }
  }
  if (active) active.ensemble.dispose();
  summarize();
}

function summarize(): void {
  const s: string[] = results.summary;
  const ad = results.gpu.adapter;
  s.push(
    ad
      ? `adapter: ${[ad.vendor, ad.architecture, ad.device, ad.description].filter(Boolean).join(' | ')} (fallback ${ad.isFallbackAdapter}); maxBufferSize ${ad.limits.maxBufferSize}, maxStorageBufferBindingSize ${ad.limits.maxStorageBufferBindingSize}`
      : BACKENDS.includes('webgpu')
        ? `adapter: NONE (${results.stages['gpu-adapter']?.error?.message ?? 'not probed'})`
        : 'adapter: not requested (--backends)',
  );
  for (const [k, v] of Object.entries(results.backends) as [string, Json][])
    s.push(
      `backend ${k}: tf.getBackend()=${v.tfBackend}; ${v.detail}; members ${v.members}/${v.membersInManifest}`,
    );
  for (const [k, v] of Object.entries(results.correctness) as [string, Json][]) {
    if (k === 'batchConsistency') continue;
    const g = v.agreement;
    s.push(
      g
        ? `${k} (${v.width}x${v.height}): max|dp| ${g.maxAbsProbabilityDiff.toExponential(2)}, mask Dice ${g.maskDice.toFixed(6)}, counts webgpu ${g.countWebgpu} / wasm ${g.countWasm}${v.webgpu?.diceVsTruth !== undefined ? `, Dice vs truth ${v.webgpu.diceVsTruth}/${v.wasm.diceVsTruth}` : ''}`
        : `${k}: no comparison (webgpu ${v.webgpu ? 'ran' : 'missing'}, wasm ${v.wasm ? 'ran' : 'missing'})`,
    );
  }
  for (const b of ['webgpu', 'wasm'] as const) {
    const f = results.speed[b].memberForward;
    if (f)
      s.push(`${b} member forward ${f.size}: ${f.medianMs} ms (${f.msPerMegapixelPerMember} ms/MP/member)`);
    const p = b === 'webgpu' ? results.speed.webgpu.profile : undefined;
    if (p)
      s.push(
        `webgpu profile ${p.size}: GPU kernel time ${p.medianKernelMs} ms of ${p.medianOuterMs} ms wall, ${p.dispatches} dispatches; top: ${Object.entries(
          p.programs,
        )
          .slice(0, 3)
          .map(([k, v]) => `${k} ${(v as Json).ms} ms`)
          .join(', ')}`,
      );
    for (const e of results.speed[b].ensemble ?? [])
      s.push(
        `${b} ensemble ${e.size} x${e.members} batch ${e.batchSize} adaptive ${e.adaptive}: ` +
          (e.skipped
            ? `skipped (${e.skipped})`
            : e.error
              ? `ERROR ${e.error.message}`
              : `${e.medianMs} ms median of ${e.runsMs.length} (${e.msPerMegapixelPerMember} ms/MP/member; evals ${e.evaluations}/${e.fullEvaluations}; ${e.count} objects)`),
      );
  }
  for (const b of ['webgpu', 'wasm'] as const) {
    const big = (results.speed[b].ensemble ?? []).filter(
      (e: Json) => e.batchSize !== 4 && e.count !== undefined,
    );
    if (big.length > 1) {
      const counts = [...new Set(big.map((e: Json) => e.count))];
      results.speed[b].bigImageCountsConsistent = counts.length === 1;
      s.push(
        `${b} big image: object counts across batch/adaptive configs ${counts.length === 1 ? `all ${counts[0]}` : `DIFFER: ${counts.join(', ')}`}`,
      );
    }
  }
  const bc = results.correctness.batchConsistency;
  if (bc)
    for (const [k, v] of Object.entries(bc) as [string, Json][])
      s.push(
        `${k} batch ${v.tiles} vs single ${v.size}: max|d| ${v.maxAbsDiffBatchVsSingle.toExponential(2)}`,
      );
  const failed = Object.entries(results.stages).filter(
    ([, v]) => (v as Json).ok === false || (v as Json).skipped,
  );
  s.push(
    failed.length
      ? `stages failed/skipped: ${failed.map(([k, v]) => `${k}${(v as Json).skipped ? ' (skipped)' : ''}`).join(', ')}`
      : 'all stages ok',
  );
  console.log('\n===== quorum webgpu check: summary =====');
  for (const line of s) console.log(line);
  console.log(`results: ${join(OUT, 'results.json')} (${round(elapsedS(), 1)} s)`);
}

main()
  .catch((e) => {
    results.fatal = errorInfo(e);
    console.error(e);
  })
  .finally(() => {
    save();
    // dawn.node can keep the event loop alive; the report is written.
    process.exit(results.fatal ? 2 : 0);
  });
