import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadMember } from '@quorum/shared';
import * as tf from '@tensorflow/tfjs';
import type { Browser } from 'playwright-core';
import { buildPeerPage } from './bundle';
import { type MemberFiles, readMember } from './member';
import { exportOnnx } from './onnx-export';
import { PEER_GLOBAL, type PeerPageEntry, type PeerPageRequest, type PeerPageResult } from './protocol';
import { mimeType, type Served, startStaticSite } from './serve';

/**
 * The browser speed peer: one ensemble member in TF.js WASM (as the client runs it) against the identical network
 * exported to ONNX and run in ONNX Runtime Web WASM, both 1 thread, in one headless Chromium page. The outputs are
 * compared, so a fast but wrong export cannot pass as a result.
 */

export interface PeerResult {
  member: string;
  /** Side of each input image in pixels. */
  size: number;
  /** Images per forward (distinct images, one call of the member each run). */
  batch: number;
  /** Timed runs per runtime (interleaved). */
  runs: number;
  /** Median time of one forward of the whole batch, TF.js WASM, 1 thread. */
  tfjsMs: number;
  /** Median time of one forward of the whole batch, ONNX Runtime Web WASM, 1 thread. */
  ortMs: number;
  /** tfjsMs per megapixel of input (batch x size x size pixels). */
  tfjsMsPerMegapixel: number;
  /** ortMs per megapixel of input. */
  ortMsPerMegapixel: number;
  /** tfjsMs / ortMs (target <= 1: TF.js at least as fast). */
  ratio: number;
  /** Max |tfjs - ort| over the output probabilities. */
  maxAbsDiff: number;
  tfjsDetail: string;
  ortDetail: string;
  chromium: string;
}

export interface PeerOptions {
  ensembleDir: string;
  memberIndex?: number;
  /** Input side in pixels (default 512). */
  size?: number;
  /** Images per forward, an integer 1..MAX_BATCH (default 1). */
  batch?: number;
  runs?: number;
  browser: Browser;
}

export const ORT_VERSION = '1.30.0';
export const ORT_INSTALL = `npm install --no-save onnxruntime-web@${ORT_VERSION}`;

/** Largest max |tfjs - ort| that still says "same network": both compute in float32, only op order differs. */
export const MAX_ABS_DIFF = 1e-4;

/** Largest --batch: at 512 px a batch of 64 already makes 1 GiB activations (8 base filters) in a 4 GiB WASM heap. */
export const MAX_BATCH = 64;

/** Throws, naming --batch, unless `batch` is an integer 1..MAX_BATCH; `shown` is what to quote (the raw flag). */
export function checkBatch(batch: number, shown: string = String(batch)): void {
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH) {
    throw new Error(`--batch must be an integer from 1 to ${MAX_BATCH} (got ${shown})`);
  }
}

/** Untimed forwards per runtime before timing (WASM compilation, XNNPACK packing, allocations). */
const WARMUP = 2;

/**
 * onnxruntime-web's dist/ folder, or undefined when it is not installed. It is deliberately not a dependency
 * (140 MB), so it is looked up rather than imported.
 */
function findOrtDist(): string | undefined {
  try {
    const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
    return existsSync(join(dist, 'ort-wasm-simd-threaded.wasm')) ? dist : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The member's ONNX bytes. Weights come from the model as TF.js loads it (dequantized), on the CPU backend so the
 * export does not depend on which backend the calling process uses; the previous backend is restored.
 */
async function exportMember(member: MemberFiles, batch: number): Promise<Uint8Array> {
  const previous = tf.engine().backendName;
  await tf.setBackend('cpu');
  const model = await loadMember(member.modelJson, member.shards, `${member.id}/model.json`);
  try {
    return exportOnnx(model, { batch });
  } finally {
    model.dispose();
    if (previous && previous !== 'cpu') await tf.setBackend(previous);
  }
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>Quorum speed peer</title><link rel="icon" href="data:,">
<script type="module" src="/bundle/page.js"></script></head><body></body></html>`;

/** Everything the page loads, by URL path. */
function siteFiles(
  bundleDir: string,
  bundle: string[],
  member: MemberFiles,
  onnx: Uint8Array,
  ortDist: string,
) {
  const files = new Map<string, Served>([
    ['/', { type: mimeType('index.html'), body: PAGE_HTML }],
    ['/member.onnx', { type: mimeType('member.onnx'), body: onnx }],
  ]);
  for (const f of bundle) files.set(`/bundle/${f}`, { type: mimeType(f), file: join(bundleDir, f) });
  for (const f of member.files) files.set(`/ensemble/${f.path}`, { type: mimeType(f.path), body: f.body });
  // The wasm-only ORT bundle loads ort-wasm-simd-threaded.{wasm,mjs} from wasmPaths; serve that family only.
  for (const name of readdirSync(ortDist)) {
    if (/^ort-wasm-simd-threaded\.(wasm|mjs)$/.test(name)) {
      files.set(`/ort/${name}`, { type: mimeType(name), file: join(ortDist, name) });
    }
  }
  return files;
}

export async function runPeer(opts: PeerOptions): Promise<PeerResult | { skipped: string }> {
  const size = opts.size ?? 512;
  const batch = opts.batch ?? 1;
  const runs = opts.runs ?? 7;
  checkBatch(batch);
  const ortDist = findOrtDist();
  if (!ortDist) {
    return {
      skipped: `onnxruntime-web is not installed (not a dependency: 140 MB); install it with: ${ORT_INSTALL}`,
    };
  }
  const ortVersion = (
    JSON.parse(readFileSync(join(ortDist, '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  if (ortVersion !== ORT_VERSION) {
    // Other versions may well work; the result records the real one, this only says it was not the pinned one.
    console.warn(`bench/peer: onnxruntime-web ${ortVersion} installed, pinned ${ORT_VERSION}`);
  }

  const member = await readMember(opts.ensembleDir, opts.memberIndex ?? 0);
  const onnx = await exportMember(member, batch);
  const bundleDir = await mkdtemp(join(tmpdir(), 'quorum-peer-'));
  const context = await opts.browser.newContext();
  let site: Awaited<ReturnType<typeof startStaticSite>> | undefined;
  const logs: string[] = [];
  try {
    const bundle = await buildPeerPage(bundleDir);
    site = await startStaticSite(siteFiles(bundleDir, bundle, member, onnx, ortDist));
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') logs.push(`[${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    await page.goto(`${site.url}/`);
    await page.waitForFunction((name) => typeof Reflect.get(globalThis, name) === 'function', PEER_GLOBAL, {
      timeout: 60_000,
    });
    const [modelFile, ...shardFiles] = member.files;
    const request: PeerPageRequest = {
      modelJsonUrl: `${site.url}/ensemble/${modelFile!.path}`,
      shardUrls: shardFiles.map((f) => `${site!.url}/ensemble/${f.path}`),
      onnxUrl: `${site.url}/member.onnx`,
      ortWasmPrefix: `${site.url}/ort/`,
      size,
      batch,
      runs,
      warmup: WARMUP,
    };
    const result: PeerPageResult = await page.evaluate(
      ([name, req]) => (Reflect.get(globalThis, name) as PeerPageEntry)(req),
      [PEER_GLOBAL, request] as const,
    );
    if (result.crossOriginIsolated) throw new Error('the peer page is cross-origin isolated; it must not be');
    const tfjsMs = median(result.tfjsTimes);
    const ortMs = median(result.ortTimes);
    const megapixels = (batch * size * size) / 1e6;
    return {
      member: member.id,
      size,
      batch,
      runs,
      tfjsMs: round(tfjsMs, 1),
      ortMs: round(ortMs, 1),
      tfjsMsPerMegapixel: round(tfjsMs / megapixels, 1),
      ortMsPerMegapixel: round(ortMs / megapixels, 1),
      ratio: round(tfjsMs / ortMs, 3),
      maxAbsDiff: result.maxAbsDiff,
      tfjsDetail: result.tfjsDetail,
      ortDetail: result.ortDetail,
      chromium: `Chromium ${opts.browser.version()}`,
    };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`speed peer failed: ${message}${logs.length ? `\npage log:\n${logs.join('\n')}` : ''}`);
  } finally {
    await context.close();
    await site?.close();
    await rm(bundleDir, { recursive: true, force: true });
  }
}
