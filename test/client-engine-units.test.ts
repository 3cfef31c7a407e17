import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ChannelIntensities,
  channelIntensities,
  OBJECT_COLUMNS,
  objectTable,
  PHYSICAL_COLUMNS,
  type PixelSize,
} from '@quorum/shared';
import { type EnsembleManifest, manifestFiles, parseManifest } from '@quorum/shared/manifest';
import { describe, expect, it } from 'vitest';
import { appConfig } from '../client/src/app/config';
import { defaultBatchSize, GPU_ACTIVATION_BUDGET, MAX_GPU_BATCH } from '../client/src/engine/batch-size';
import { sha256Hex } from '../client/src/engine/digest';
import { exportResult } from '../client/src/engine/exports';
import { BackendRunError, runWithFallback } from '../client/src/engine/fallback';
import { guardedRunner } from '../client/src/engine/guarded-runner';
import { decodeInput } from '../client/src/engine/input';
import {
  IntegrityError,
  loadEnsembleFiles,
  manifestUrl,
  NetworkError,
  verifyBlob,
} from '../client/src/engine/loader';
import { candidatesFor, slowerThan } from '../client/src/engine/order';
import { memoryStore } from '../client/src/engine/store';
import type { BackendInfo, BackendName, LoadProgress } from '../client/src/engine/types';
import { stemOf } from '../client/src/ui/files';
import { sortRows } from '../client/src/ui/table';
import { clientContext } from './helpers/browser';

/**
 * The client's pure logic in Node (no browser): loading with integrity checks and the content-addressed cache,
 * backend order, and the small UI helpers. The browser suites (client-app, client-widget, ...) cover the same
 * paths for real in Chromium.
 */
const FIXTURE = join(import.meta.dirname, 'fixtures/tiny-ensemble');
const EDGE = 'http://edge.test';
const manifestText = readFileSync(join(FIXTURE, 'ensemble.json'), 'utf8');
const manifest = parseManifest(manifestText);
const blobs = new Map(
  manifestFiles(manifest).map((f) => [f.sha256, new Uint8Array(readFileSync(join(FIXTURE, f.path)))]),
);

interface FakeEdge {
  fetch: typeof fetch;
  calls: string[];
  /** The `cache` mode of each call. */
  modes: (RequestCache | undefined)[];
  /** Serve `override` only this many times, then the real bytes (a one-off corruption on the way). */
  overrideTimes: number;
  /** Bytes served for a sha instead of the real ones. */
  override: Map<string, Uint8Array>;
  manifests: Map<string, string>;
  down: boolean;
  /** Blob requests that fail before any succeeds: a connection error, or this HTTP status. */
  blobFailures: number;
  blobFailure: 'connection' | number;
}

/** An edge in memory: `latest` and pinned manifests, and blobs by hash; records every URL fetched. */
function fakeEdge(): FakeEdge {
  const edge: FakeEdge = {
    calls: [],
    modes: [],
    overrideTimes: Number.POSITIVE_INFINITY,
    override: new Map(),
    manifests: new Map([
      ['latest', manifestText],
      [manifest.version, manifestText],
    ]),
    down: false,
    blobFailures: 0,
    blobFailure: 'connection',
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      edge.calls.push(url);
      edge.modes.push(init?.cache);
      if (edge.down) throw new TypeError('Failed to fetch');
      const m = /\/v1\/ensembles\/tiny-test\/([^/]+)$/.exec(url);
      if (m) {
        const text = edge.manifests.get(decodeURIComponent(m[1]!));
        return text ? new Response(text) : new Response('{"error":"no such version"}', { status: 404 });
      }
      const b = /\/v1\/blobs\/([0-9a-f]{64})$/.exec(url);
      if (b && edge.blobFailures > 0) {
        edge.blobFailures--;
        if (edge.blobFailure === 'connection') throw new TypeError('Failed to fetch');
        return new Response('busy', { status: edge.blobFailure });
      }
      const override = b && edge.overrideTimes > 0 ? edge.override.get(b[1]!) : undefined;
      if (override) edge.overrideTimes--;
      const bytes = b && (override ?? blobs.get(b[1]!));
      return bytes ? new Response(bytes.slice()) : new Response('not found', { status: 404 });
    }) as typeof fetch,
  };
  return edge;
}

const source = { edge: EDGE, ensemble: 'tiny-test' };

describe.skipIf(!clientContext())('client engine (Node)', () => {
  it('sha256Hex matches node:crypto', async () => {
    const bytes = new TextEncoder().encode('quorum');
    expect(await sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('loads every file, verified, reporting download progress in bytes and caching by hash', async () => {
    const edge = fakeEdge();
    const store = memoryStore();
    const events: LoadProgress[] = [];
    const loaded = await loadEnsembleFiles(source, {
      store,
      fetch: edge.fetch,
      onProgress: (p) => events.push(p),
    });
    expect(loaded.manifest.version).toBe('0.0.1');
    expect(loaded.files.size).toBe(8);
    expect(loaded.downloaded).toEqual({
      files: 8,
      bytes: manifestFiles(manifest).reduce((n, f) => n + f.bytes, 0),
    });
    expect(loaded.cached.files).toBe(0);
    const last = events.filter((e) => e.phase === 'download').at(-1);
    expect(last).toEqual({
      phase: 'download',
      loaded: loaded.downloaded.bytes,
      total: loaded.downloaded.bytes,
    });
    for (const f of manifestFiles(manifest))
      expect(await store.getBlob(f.sha256)).toEqual(blobs.get(f.sha256));

    // Second visit: only the manifest is fetched.
    edge.calls.length = 0;
    const again = await loadEnsembleFiles(source, { store, fetch: edge.fetch });
    expect(again.cached.files).toBe(8);
    expect(again.downloaded.files).toBe(0);
    expect(edge.calls).toEqual([manifestUrl(source)]);
  });

  it('retries a blob after a dropped connection or a 5xx, and gives up with the number of tries', async () => {
    const edge = fakeEdge();
    // Two dropped connections in a row: the third try of that blob succeeds.
    edge.blobFailures = 2;
    const loaded = await loadEnsembleFiles(source, {
      store: memoryStore(),
      fetch: edge.fetch,
      concurrency: 1,
    });
    expect(loaded.files.size).toBe(8);
    expect(edge.calls.filter((u) => u.includes('/v1/blobs/'))).toHaveLength(8 + 2);

    edge.blobFailure = 503;
    edge.blobFailures = 1;
    expect((await loadEnsembleFiles(source, { store: memoryStore(), fetch: edge.fetch })).files.size).toBe(8);

    // Down for good: three tries, then a network error that says so.
    edge.blobFailure = 'connection';
    edge.blobFailures = 3;
    await expect(
      loadEnsembleFiles(source, { store: memoryStore(), fetch: edge.fetch, concurrency: 1 }),
    ).rejects.toThrow(/could not download .* \(Failed to fetch\); 3 tries/);

    // A 404 is not transient: one try.
    edge.blobFailure = 404;
    edge.blobFailures = 1;
    edge.calls.length = 0;
    await expect(
      loadEnsembleFiles(source, { store: memoryStore(), fetch: edge.fetch, concurrency: 1 }),
    ).rejects.toThrow(/HTTP 404$/);
    expect(edge.calls.filter((u) => u.includes('/v1/blobs/'))).toHaveLength(1);
  });

  it('a new latest version downloads only the blobs it does not share with the cached one', async () => {
    const edge = fakeEdge();
    const store = memoryStore();
    await loadEnsembleFiles(source, { store, fetch: edge.fetch });
    // v0.0.2 changes one member's weights: one shard is new, everything else is shared.
    const v2 = structuredClone(manifest) as EnsembleManifest;
    v2.version = '0.0.2';
    const shard = v2.members[1]!.files[1]!;
    const newBytes = blobs.get(shard.sha256)!.slice();
    newBytes[100] = (newBytes[100]! + 1) % 256;
    shard.sha256 = createHash('sha256').update(newBytes).digest('hex');
    blobs.set(shard.sha256, newBytes);
    edge.manifests.set('latest', JSON.stringify(v2));
    edge.calls.length = 0;
    const loaded = await loadEnsembleFiles(source, { store, fetch: edge.fetch });
    expect(loaded.manifest.version).toBe('0.0.2');
    expect(loaded.downloaded).toEqual({ files: 1, bytes: shard.bytes });
    expect(edge.calls).toEqual([manifestUrl(source), `${EDGE}/v1/blobs/${shard.sha256}`]);
    expect(loaded.files.get(shard.path)).toEqual(newBytes);
  });

  it('refuses a tampered blob and a truncated one, and caches neither', async () => {
    const ref = manifest.members[0]!.files[1]!;
    for (const [how, bytes, pattern] of [
      [
        'tampered',
        blobs.get(ref.sha256)!.map((b, i) => (i === 7 ? b ^ 1 : b)),
        /sha256 .*tampered or corrupted/,
      ],
      [
        'truncated',
        blobs.get(ref.sha256)!.subarray(0, 5000),
        /got 5000 bytes but the manifest says 10004 \(truncated/,
      ],
    ] as const) {
      const edge = fakeEdge();
      edge.override.set(ref.sha256, bytes);
      const store = memoryStore();
      const error = await loadEnsembleFiles(source, { store, fetch: edge.fetch }).catch((e) => e);
      expect(error, how).toBeInstanceOf(IntegrityError);
      expect(error.message, how).toMatch(pattern);
      expect(error.message, how).toContain(ref.path);
      expect(error.message, how).toMatch(/refusing to use it$/);
      expect(await store.getBlob(ref.sha256), how).toBeUndefined();
      // Tried twice, the second time past the HTTP cache.
      expect(edge.modes[edge.calls.lastIndexOf(`${EDGE}/v1/blobs/${ref.sha256}`)], how).toBe('reload');
    }
  });

  it('a blob damaged once on the way (or in the HTTP cache) is fetched again bypassing the HTTP cache', async () => {
    const ref = manifest.members[3]!.files[1]!;
    const edge = fakeEdge();
    edge.override.set(ref.sha256, new Uint8Array(ref.bytes));
    edge.overrideTimes = 1;
    const events: LoadProgress[] = [];
    const loaded = await loadEnsembleFiles(source, {
      store: memoryStore(),
      fetch: edge.fetch,
      concurrency: 1,
      onProgress: (p) => events.push(p),
    });
    expect(loaded.files.get(ref.path)).toEqual(blobs.get(ref.sha256));
    const url = `${EDGE}/v1/blobs/${ref.sha256}`;
    expect(edge.calls.filter((c) => c === url)).toHaveLength(2);
    expect(edge.modes[edge.calls.lastIndexOf(url)]).toBe('reload');
    const downloads = events.flatMap((e) => (e.phase === 'download' ? [e.loaded] : []));
    expect(downloads.at(-1)).toBe(loaded.downloaded.bytes);
  });

  it('re-downloads a cache entry that no longer matches its hash', async () => {
    const edge = fakeEdge();
    const store = memoryStore();
    await loadEnsembleFiles(source, { store, fetch: edge.fetch });
    const ref = manifest.members[2]!.files[1]!;
    await store.putBlob(ref.sha256, new Uint8Array(ref.bytes)); // zeros: corrupted on disk
    edge.calls.length = 0;
    const loaded = await loadEnsembleFiles(source, { store, fetch: edge.fetch });
    expect(loaded.downloaded.files).toBe(1);
    expect(edge.calls.at(-1)).toBe(`${EDGE}/v1/blobs/${ref.sha256}`);
    await expect(verifyBlob(ref, (await store.getBlob(ref.sha256))!)).resolves.toBeUndefined();
  });

  it('offline: the cached manifest and blobs stand in; with nothing cached, a clear network error', async () => {
    const edge = fakeEdge();
    const store = memoryStore();
    edge.down = true;
    const cold = await loadEnsembleFiles(source, { store, fetch: edge.fetch }).catch((e) => e);
    expect(cold).toBeInstanceOf(NetworkError);
    expect(cold.message).toMatch(/could not fetch the ensemble manifest .* and none is cached/);
    edge.down = false;
    await loadEnsembleFiles(source, { store, fetch: edge.fetch });
    edge.down = true;
    const warm = await loadEnsembleFiles(source, { store, fetch: edge.fetch });
    expect(warm.offline).toBe(true);
    expect(warm.cached.files).toBe(8);
  });

  it('a pinned version that does not exist is a 404 message, not a cache fallback', async () => {
    const edge = fakeEdge();
    const error = await loadEnsembleFiles(
      { ...source, version: '9.9.9' },
      { store: memoryStore(), fetch: edge.fetch },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.message).toMatch(/version 9\.9\.9 of ensemble "tiny-test" was not found .*no such version/);
    expect(manifestUrl({ ...source, version: '1.0 beta' })).toBe(`${EDGE}/v1/ensembles/tiny-test/1.0%20beta`);
  });

  it('backend order: forced first, then only slower ones', () => {
    expect(candidatesFor('auto')).toEqual(['webgpu', 'wasm', 'cpu']);
    expect(candidatesFor('webgpu')).toEqual(['webgpu', 'wasm', 'cpu']);
    expect(candidatesFor('wasm')).toEqual(['wasm', 'cpu']);
    expect(candidatesFor('cpu')).toEqual(['cpu']);
    expect(slowerThan('webgpu')).toEqual(['wasm', 'cpu']);
    expect(slowerThan('cpu')).toEqual([]);
  });

  it('a backend that fails at run time hands the work to the next one, with the reason recorded', async () => {
    const info = (name: BackendName, fallbacks: string[] = []): BackendInfo => ({
      name,
      threads: 1,
      detail: name,
      fallbacks,
      crossOriginIsolated: false,
    });
    const switched: [BackendName[], string[]][] = [];
    let active: BackendName = 'webgpu';
    const run = async () => {
      if (active !== 'cpu')
        throw new BackendRunError(`Kernel 'Conv2DBackpropInput' not registered for '${active}'`);
      return 'mask';
    };
    const switchTo = async (candidates: BackendName[], fallbacks: string[]) => {
      switched.push([candidates, fallbacks]);
      active = candidates[0]!;
      return info(active, fallbacks);
    };
    const out = await runWithFallback(info('webgpu', ['earlier: skipped']), { run, switchTo });
    expect(out.result).toBe('mask');
    expect(out.backend.name).toBe('cpu');
    expect(out.backend.fallbacks).toEqual([
      'earlier: skipped',
      "webgpu: failed at run time (Kernel 'Conv2DBackpropInput' not registered for 'webgpu')",
      "wasm: failed at run time (Kernel 'Conv2DBackpropInput' not registered for 'wasm')",
    ]);
    expect(switched.map(([c]) => c)).toEqual([['wasm', 'cpu'], ['cpu']]);

    // Not the backend's fault (bad input, cancellation): no fallback. The last backend failing: the error stands.
    const input = Object.assign(new Error('cells.png: truncated'), { name: 'QuorumInputError' });
    await expect(runWithFallback(info('wasm'), { run: () => Promise.reject(input), switchTo })).rejects.toBe(
      input,
    );
    const onCpu = new BackendRunError('out of memory');
    await expect(runWithFallback(info('cpu'), { run: () => Promise.reject(onCpu), switchTo })).rejects.toBe(
      onCpu,
    );
    expect(switched).toHaveLength(2);
  });

  it('cancellation: once the abort has landed, no further model call starts', async () => {
    const started: number[] = [];
    const inner = {
      members: [{ id: 'a', mode: 'm' }],
      channels: 2 as const,
      predict: async (index: number, tiles: Float32Array) => {
        started.push(index);
        await new Promise((r) => setTimeout(r, 20));
        return tiles;
      },
    };
    const controller = new AbortController();
    const runner = guardedRunner(inner, controller.signal);
    expect(runner.channels).toBe(2); // a contour ensemble stays one
    // Abort (as a message handler would, on a macrotask) while the second call is running.
    setTimeout(() => controller.abort(), 30);
    const tiles = new Float32Array(4);
    const outcomes: string[] = [];
    for (let call = 0; call < 5; call++) {
      outcomes.push(
        await runner.predict(call, tiles, 1, 2, 2).then(
          () => 'ran',
          (e: Error) => e.name,
        ),
      );
    }
    expect(started).toEqual([0, 1]);
    expect(outcomes).toEqual(['ran', 'ran', 'AbortError', 'AbortError', 'AbortError']);

    // A throw from the model is marked as the backend's fault, with the original as its cause.
    const kernel = new Error("Kernel 'X' not registered");
    const failing = guardedRunner(
      { ...inner, predict: () => Promise.reject(kernel) },
      new AbortController().signal,
    );
    const error = await failing.predict(0, tiles, 1, 2, 2).catch((e) => e);
    expect(error).toBeInstanceOf(BackendRunError);
    expect(error.cause).toBe(kernel);
  });

  it('batches tiles per member call on WebGPU only, within the activation budget', () => {
    const square = (px: number) => ({ tileWidth: px, tileHeight: px });
    expect(defaultBatchSize('wasm', { baseFilters: 8 }, square(256))).toBeUndefined();
    expect(defaultBatchSize('cpu', { baseFilters: 8 }, square(256))).toBeUndefined();
    expect(defaultBatchSize('webgpu', { baseFilters: 8 }, square(256))).toBe(MAX_GPU_BATCH);
    // Sized by the planned windows, not the manifest's tile: 704 px windows of a 2048 px image fit one per call,
    // 360 x 360 px windows four.
    expect(defaultBatchSize('webgpu', { baseFilters: 8 }, square(704))).toBe(1);
    expect(defaultBatchSize('webgpu', { baseFilters: 8 }, square(360))).toBe(4);
    for (const baseFilters of [4, 8, 16, 32, 64])
      for (const tile of [128, 256, 512, 1024, 2048]) {
        const batch = defaultBatchSize('webgpu', { baseFilters }, square(tile))!;
        expect(batch).toBeGreaterThanOrEqual(1);
        expect(batch).toBeLessThanOrEqual(MAX_GPU_BATCH);
        // Within budget, unless even one tile exceeds it; and no larger batch would have fitted.
        const bytes = (n: number) => n * tile * tile * 2 * baseFilters * 4;
        if (batch > 1) expect(bytes(batch)).toBeLessThanOrEqual(GPU_ACTIVATION_BUDGET);
        if (batch < MAX_GPU_BATCH) expect(bytes(batch + 1)).toBeGreaterThan(GPU_ACTIVATION_BUDGET);
      }
  });

  it('app settings come from the URL, with safe defaults', () => {
    const origin = 'https://quorum.example';
    expect(appConfig({ origin, search: '' })).toEqual({
      edge: origin,
      ensemble: 'dsb2018-fluo',
      backend: 'auto',
      adaptive: 'exact',
      offline: true,
    });
    expect(appConfig({ origin, search: '?ensemble=x&version=2&backend=webgpu&adaptive=off&sw=off' })).toEqual(
      {
        edge: origin,
        ensemble: 'x',
        version: '2',
        backend: 'webgpu',
        adaptive: 'off',
        offline: false,
      },
    );
    expect(appConfig({ origin, search: '?backend=cuda' }).backend).toBe('auto');
  });

  it('object table sorting is total and stable; output names follow the input', () => {
    const row = (id: number, area: number, meanIntensity: number | null) => ({
      id,
      area,
      centroidX: 0,
      centroidY: 0,
      bboxX: 0,
      bboxY: 0,
      bboxWidth: 1,
      bboxHeight: 1,
      meanIntensity,
      integratedIntensity: meanIntensity === null ? null : meanIntensity * area,
      meanUncertainty: null,
      equivalentDiameter: Math.sqrt((4 * area) / Math.PI),
      perimeter: 4,
      circularity: 0.8,
      majorAxisLength: 1,
      minorAxisLength: 1,
      eccentricity: 0,
      orientation: 0,
      touchesBorder: 0 as const,
    });
    const rows = [row(1, 30, 5), row(2, 10, null), row(3, 30, 2), row(4, 20, 9)];
    expect(sortRows(rows, 'area', 'ascending').map((r) => r.id)).toEqual([2, 4, 1, 3]);
    expect(sortRows(rows, 'area', 'descending').map((r) => r.id)).toEqual([1, 3, 4, 2]);
    expect(sortRows(rows, 'meanIntensity', 'ascending').map((r) => r.id)).toEqual([3, 1, 4, 2]);
    expect(stemOf('C:\\data\\cells.ome.tif')).toBe('cells.ome');
    expect(stemOf('.png')).toBe('.png');
  });
});

describe('pixel size: from the file or the caller, into the objects CSV', () => {
  const imagej = new Uint8Array(
    readFileSync(join(import.meta.dirname, '../shared/test/fixtures/images/tiff-imagej-um.tif')),
  );

  it("takes the file's calibration, lets the caller override it, and refuses a nonsensical one", () => {
    expect(decodeInput({ kind: 'file', bytes: imagej, name: 'a.tif' }, {}).pixelSize).toMatchObject({
      source: 'imagej',
    });
    expect(decodeInput({ kind: 'file', bytes: imagej, name: 'a.tif' }, { pixelSize: 0.1 }).pixelSize).toEqual(
      {
        x: 0.1,
        y: 0.1,
        source: 'user',
      },
    );
    expect(() => decodeInput({ kind: 'file', bytes: imagej, name: 'a.tif' }, { pixelSize: -1 })).toThrow(
      /pixelSize: is -1/,
    );
  });

  it('keeps a multi-channel file for per-channel measurements, and a one-channel file not', () => {
    const fixtures = join(import.meta.dirname, '../shared/test/fixtures/images');
    const rgb = new Uint8Array(readFileSync(join(fixtures, 'tiff-rgb8-deflate.tif')));
    const decoded = decodeInput({ kind: 'file', bytes: rgb, name: 'rgb.tif' }, {});
    expect(decoded.image.channels).toBe(1);
    expect(decoded.multichannel?.channels).toBe(3);
    expect(decodeInput({ kind: 'file', bytes: imagej, name: 'a.tif' }, {}).multichannel).toBeUndefined();
  });

  it('writes physical columns only when the result has a pixel size', () => {
    const labels = Uint32Array.of(1, 1, 0, 0);
    const objects = objectTable({ width: 2, height: 2, data: labels });
    const base = {
      width: 2,
      height: 2,
      count: 1,
      mask: Uint8Array.of(1, 1, 0, 0),
      labels,
      probability: new Float32Array(4),
      uncertainty: new Float32Array(4),
      objects,
    };
    const csv = (r: typeof base & { pixelSize?: PixelSize; channelIntensities?: ChannelIntensities }) =>
      new TextDecoder().decode(exportResult(r, 'objects-csv', 'x').bytes).split('\r\n')[0]!;
    expect(csv(base)).toBe(OBJECT_COLUMNS.join(','));
    expect(csv({ ...base, pixelSize: { x: 0.5, y: 0.5, source: 'imagej' } })).toBe(
      `${OBJECT_COLUMNS.join(',')},${PHYSICAL_COLUMNS.join(',')}`,
    );
    const channels = channelIntensities(
      { width: 2, height: 2, data: labels },
      { width: 2, height: 2, channels: 2, data: Uint8Array.of(1, 2, 3, 4, 0, 0, 0, 0) },
    );
    expect(csv({ ...base, channelIntensities: channels })).toBe(
      `${OBJECT_COLUMNS.join(',')},meanIntensityC0,integratedIntensityC0,meanIntensityC1,integratedIntensityC1`,
    );
  });
});
