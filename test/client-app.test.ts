import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeImage, OBJECT_COLUMNS, PHYSICAL_COLUMNS, SUMMARY_COLUMNS } from '@quorum/shared';
import { unzipSync } from 'fflate';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../edge/scripts/wrangler-dev';
import {
  appError,
  appReady,
  clientContext,
  dice,
  launchChromium,
  newPage,
  serviceWorkerReady,
} from './helpers/browser';
import { multiPageTiff16, nucleiPng, oversizePng, syntheticNuclei } from './helpers/browser-images';
import { type RecordingProxy, startRecordingProxy } from './helpers/browser-proxy';

/**
 * The hosted app, end to end: served by the edge worker (wrangler dev) with the tiny test ensemble published
 * through the real publish API, driven in headless Chromium through its UI, downloads read back in Node.
 */
const ctx = clientContext();
const SAMPLE = join(
  ROOT,
  'data/samples/dsb2018-fluo/images/0a849e0eb15faa8a6d7329c3dd66aabe9a294cccb52ed30a90c8ca99092ae732.png',
);
const TINY = join(ROOT, 'test/fixtures/tiny-ensemble');

let proxy: RecordingProxy;
let browser: Browser;
let tmp: string;
let reference: { mask: Uint8Array; count: number };

async function openApp(context: BrowserContext, query = ''): Promise<{ page: Page; logs: string[] }> {
  const opened = await newPage(context);
  await opened.page.goto(`${ctx!.edge}/?ensemble=${ctx!.ensemble}${query}`);
  const state = await appReady(opened.page);
  expect(state, `${await appError(opened.page)}\n${opened.logs.join('\n')}`).toBe('true');
  return opened;
}

async function upload(page: Page, name: string, bytes: Uint8Array, mimeType = 'application/octet-stream') {
  await page.setInputFiles('[data-testid=file]', { name, mimeType, buffer: Buffer.from(bytes) });
}

/** Run `action` and wait until the app has settled it (result, error or cancellation); returns the outcome. */
async function act(page: Page, action: () => Promise<unknown>): Promise<'done' | 'error' | 'cancelled'> {
  const before = Number((await page.evaluate(() => document.body.dataset['settled'])) ?? 0);
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset['settled'] ?? 0) > n, before, {
    timeout: 120_000,
  });
  return (await page.evaluate(() => document.body.dataset['outcome'])) as 'done' | 'error' | 'cancelled';
}

async function download(page: Page, testId: string): Promise<{ name: string; bytes: Uint8Array }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${testId}]`)]);
  const path = join(tmp, `${Date.now()}-${dl.suggestedFilename()}`);
  await dl.saveAs(path);
  return { name: dl.suggestedFilename(), bytes: new Uint8Array(await readFile(path)) };
}

describe.skipIf(!ctx)('hosted app in Chromium, served by the edge', () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'quorum-client-app-'));
    // The Node side of the comparison: the real CLI on the same file with the same ensemble.
    const out = join(tmp, 'cli');
    const { stdout } = await promisify(execFile)(
      join(ROOT, 'node_modules/.bin/quorum'),
      ['segment', '--ensemble', TINY, SAMPLE, '--out', out, '--backend', 'wasm'],
      { cwd: ROOT, timeout: 120_000 },
    );
    const stem = '0a849e0eb15faa8a6d7329c3dd66aabe9a294cccb52ed30a90c8ca99092ae732';
    reference = {
      mask: decodeImage(new Uint8Array(await readFile(join(out, `${stem}.mask.png`)))).data as Uint8Array,
      count: Number(/: (\d+) objects/.exec(stdout)![1]),
    };
    proxy = await startRecordingProxy();
    browser = await launchChromium({ proxy });
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('segments the bundled sample on threaded WASM; the mask matches `quorum segment` (Dice >= 0.999)', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const { page, logs } = await openApp(context);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const backend = page.getByTestId('backend');
    expect(await backend.getAttribute('data-name')).toBe('wasm');
    // On one thread (this machine) the 3x3 convolutions run in Quorum's Winograd module, linked against the
    // threaded build's shared memory; with several XNNPACK threads they stay on XNNPACK.
    const threads = Number(await backend.getAttribute('data-threads'));
    expect(await backend.textContent()).toBe(
      `WASM (threaded SIMD build, ${threads} thread${threads === 1 ? '' : 's'}, Quorum's kernels, ` +
        (threads === 1
          ? 'Winograd 3x3 convolutions with fused multiply-add)'
          : `3x3 convolutions on XNNPACK (${threads} threads beat one Winograd thread))`),
    );
    expect(await page.getByTestId('model').textContent()).toMatch(/^tiny-test 0\.0\.1 \(4 members, mean\)/);

    expect(await act(page, () => page.getByTestId('sample').click()), logs.join('\n')).toBe('done');
    expect(await page.getByTestId('error').isHidden()).toBe(true);
    expect(Number(await page.getByTestId('count').textContent())).toBe(reference.count);

    const mask = await download(page, 'download-mask');
    expect(mask.name).toBe('dsb2018-sample.mask.png');
    const browserMask = decodeImage(mask.bytes);
    expect([browserMask.width, browserMask.height]).toEqual([256, 256]);
    expect(dice(browserMask.data, reference.mask)).toBeGreaterThanOrEqual(0.999);

    const labels = decodeImage((await download(page, 'download-labels')).bytes);
    expect(labels.bitDepth).toBe(16);
    expect(Math.max(...labels.data)).toBe(reference.count);
    const probability = decodeImage((await download(page, 'download-probability')).bytes);
    expect(probability.sampleFormat).toBe('float');
    const labelsTiff = decodeImage((await download(page, 'download-labels-tiff')).bytes);
    expect(labelsTiff.bitDepth).toBe(16);
    const csv = new TextDecoder().decode((await download(page, 'download-csv')).bytes);
    expect(csv.split('\r\n')[0]).toBe(OBJECT_COLUMNS.join(','));
    expect(csv.trim().split('\r\n')).toHaveLength(reference.count + 1);
    // A PNG declares no pixel size; one typed in adds the physical columns without segmenting again.
    expect(await page.textContent('[data-testid=pixel]')).toContain('unknown');
    await page.fill('[data-testid=pixel-size]', '0.5');
    expect(await page.textContent('[data-testid=pixel]')).toBe('pixel 0.5 um (given)');
    expect(await page.textContent('th[data-key=area] button')).toBe('area (µm²)');
    expect(await page.textContent('th[data-key=equivalentDiameter] button')).toBe('diameter (µm)');
    const csvUm = new TextDecoder().decode((await download(page, 'download-csv')).bytes);
    expect(csvUm.split('\r\n')[0]).toBe(`${OBJECT_COLUMNS.join(',')},${PHYSICAL_COLUMNS.join(',')}`);
    expect(csvUm.trim().split('\r\n')).toHaveLength(reference.count + 1);

    // The uncertainty toggle repaints the canvas; the table sorts by a column, both ways.
    const pixels = () =>
      page.evaluate(() => {
        const c = document.querySelector('canvas')!;
        return Array.from(
          c
            .getContext('2d')!
            .getImageData(0, 0, c.width, c.height)
            .data.slice(0, 4 * 4096),
        ).join();
      });
    const before = await pixels();
    await page.getByTestId('show-uncertainty').check();
    expect(await pixels()).not.toBe(before);
    const area = page.locator('th[data-key=area] button');
    await area.click();
    await area.click();
    expect(await page.locator('th[data-key=area]').getAttribute('aria-sort')).toBe('descending');
    const areas = await page.$$eval('[data-testid=objects] tbody tr td:nth-child(2)', (tds) =>
      tds.map((td) => Number(td.textContent)),
    );
    expect(areas).toHaveLength(reference.count);
    expect(areas).toEqual([...areas].sort((a, b) => b - a));
    await context.close();
  });

  it('privacy: after loading, no request carries image bytes, and segmenting makes only manifest/blob GETs', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const start = proxy.requests.length;
    const { page, logs } = await openApp(context);
    // Loading ends when the service worker has precached the app shell too.
    expect(await serviceWorkerReady(page), logs.join('\n')).toBe('ready');
    const image = nucleiPng(320, 240, 7);
    const loaded = proxy.requests.length;
    expect(await act(page, () => upload(page, 'private.png', image, 'image/png'))).toBe('done');
    await download(page, 'download-csv');
    expect(await act(page, () => page.getByTestId('sample').click())).toBe('done');
    await page.waitForTimeout(500);
    const during = proxy.since(loaded);
    const all = proxy.since(start);

    // No request of any realm, to any host, carries any 64-byte run of the image file.
    const probe = Buffer.from(image.subarray(image.length >> 1, (image.length >> 1) + 64));
    for (const r of all) {
      expect(r.body.includes(probe), `${r.method} ${r.url}`).toBe(false);
      expect(r.url.includes(probe.toString('base64').slice(0, 40)), r.url).toBe(false);
    }
    // Nothing reached any host but loopback: every other request (Chromium's own update checks and sign-in probes
    // are among them) was refused by the proxy and never left the machine.
    expect(all.filter((r) => r.external && !r.refused)).toEqual([]);
    // Everything sent to the edge after loading: GETs of the manifest, blobs, or the app's own static files (the
    // sample button's bundled image). No POST or PUT, no body. The one exception is not the app's doing: Chromium
    // may fetch the service worker script again to check it for updates (seen once on a loaded CI machine), a
    // bodiless GET of /sw.js that it marks `Service-Worker: script`, as it marked the registration's own fetch.
    expect(all.some((r) => r.serviceWorkerScript && new URL(r.url).pathname === '/sw.js')).toBe(true);
    for (const r of during.filter((r) => !r.external)) {
      const url = new URL(r.url);
      expect(url.origin, r.url).toBe(ctx!.edge);
      expect(r.method, r.url).toBe('GET');
      expect(r.body.byteLength, r.url).toBe(0);
      if (r.serviceWorkerScript && url.pathname === '/sw.js') continue;
      expect(url.pathname, r.url).toMatch(
        /^\/(v1\/ensembles\/[^/]+\/[^/]+|v1\/blobs\/[0-9a-f]{64}|assets\/[^/]+\.png)$/,
      );
    }
    await context.close();
  });

  it('bad files get a clear, visible error and the app stays usable', async () => {
    const context = await browser.newContext();
    const { page } = await openApp(context, '&sw=off');
    const png = nucleiPng(96, 96, 3);
    const tiff = multiPageTiff16([syntheticNuclei(64, 64, { seed: 4, max: 40000 }) as Uint16Array], 64, 64);
    const cases: [string, Uint8Array, RegExp][] = [
      ['cut.png', png.subarray(0, png.length - 40), /Could not read "cut\.png".*PNG ends/],
      ['cut.tif', tiff.subarray(0, 200), /Could not read "cut\.tif".*TIFF ends/],
      [
        'notes.png',
        new TextEncoder().encode('these are my lab notes, not an image\n'),
        /Could not read "notes\.png".*not a PNG, TIFF or JPEG/,
      ],
      [
        'huge.png',
        oversizePng(5000, 5000),
        /too large.*5000 x 5000 = 25000000 pixels, over the limit of 16777216/,
      ],
    ];
    for (const [name, bytes, message] of cases) {
      expect(await act(page, () => upload(page, name, bytes)), name).toBe('error');
      const error = page.getByTestId('error');
      expect(await error.isVisible(), name).toBe(true);
      expect(await error.textContent(), name).toMatch(message);
    }
    // Still usable: the next good image segments and clears the error.
    expect(await act(page, () => upload(page, 'good.png', png, 'image/png'))).toBe('done');
    expect(await page.getByTestId('error').isHidden()).toBe(true);
    await context.close();
  });

  it('a batch of files: each is segmented in turn, a bad one is listed and skipped, and one ZIP holds them all', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const { page } = await openApp(context, '&sw=off');
    const files = [
      { name: 'well-a.png', mimeType: 'image/png', buffer: Buffer.from(nucleiPng(96, 96, 21)) },
      { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('lab notes, not an image\n') },
      // Same name as the first, from another folder: its files must not overwrite the first's in the ZIP.
      { name: 'well-a.png', mimeType: 'image/png', buffer: Buffer.from(nucleiPng(120, 80, 22)) },
    ];
    expect(await act(page, () => page.setInputFiles('[data-testid=file]', files))).toBe('done');
    expect(await page.getByTestId('batch').isVisible()).toBe(true);
    expect(await page.getByTestId('batch-status').textContent()).toBe('3 of 3 images, 1 could not be read');
    const table = await page.$$eval('[data-testid=batch-table] tbody tr', (trs) =>
      trs.map((tr) => [
        tr.getAttribute('data-state'),
        ...Array.from(tr.querySelectorAll('td'), (td) => td.textContent),
      ]),
    );
    expect(table.map((r) => r[0])).toEqual(['done', 'error', 'done']);
    expect(table[1]![3]).toMatch(/Could not read "notes\.png".*not a PNG, TIFF or JPEG/);
    // The view shows the last image of the batch.
    expect(await page.getByTestId('count').textContent()).toBe(table[2]![2]);

    const zip = await download(page, 'batch-download');
    expect(zip.name).toBe('quorum-batch.zip');
    const entries = unzipSync(zip.bytes);
    expect(Object.keys(entries).sort()).toEqual([
      'summary.csv',
      'well-a-2.labels.png',
      'well-a-2.mask.png',
      'well-a-2.objects.csv',
      'well-a.labels.png',
      'well-a.mask.png',
      'well-a.objects.csv',
    ]);
    expect(decodeImage(entries['well-a-2.mask.png']!).width).toBe(120);
    const summary = new TextDecoder()
      .decode(entries['summary.csv'])
      .trim()
      .split('\r\n')
      .map((l) => l.split(','));
    const col = (c: (typeof SUMMARY_COLUMNS)[number]) => SUMMARY_COLUMNS.indexOf(c);
    expect(summary[0]).toEqual([...SUMMARY_COLUMNS]);
    expect(summary.slice(1).map((r) => r[col('output')])).toEqual(['well-a', '', 'well-a-2']);
    // Each image's count agrees with its own objects CSV and with the table on the page.
    for (const [row, shown] of [
      [summary[1]!, table[0]![2]],
      [summary[3]!, table[2]![2]],
    ] as const) {
      const csv = new TextDecoder()
        .decode(entries[`${row[col('output')]}.objects.csv`])
        .trim()
        .split('\r\n');
      expect(row[col('objects')]).toBe(String(csv.length - 1));
      expect(row[col('objects')]).toBe(shown);
    }
    // The app goes on working for single images after a batch.
    expect(await act(page, () => upload(page, 'one.png', nucleiPng(96, 96, 23), 'image/png'))).toBe('done');
    expect(await page.getByTestId('batch').isHidden()).toBe(true);
    await context.close();
  });

  it('a nucleus clicked in the image is selected in the table, and a row clicked marks its nucleus', async () => {
    const context = await browser.newContext();
    const { page } = await openApp(context, '&sw=off');
    expect(await act(page, () => upload(page, 'cells.png', nucleiPng(160, 120, 31), 'image/png'))).toBe(
      'done',
    );
    // Round objects (high circularity) contain their centroid: click there.
    const rows = await page.$$eval('[data-testid=objects] tbody tr', (trs) =>
      trs.map((tr) => ({
        id: Number(tr.getAttribute('data-id')),
        cells: Array.from(tr.querySelectorAll('td'), (td) => Number(td.textContent)),
      })),
    );
    expect(rows.length).toBeGreaterThan(1);
    const [first, second] = [...rows]
      .filter((r) => r.cells[1]! >= 30)
      .sort((a, b) => b.cells[5]! - a.cells[5]!)
      .map((r) => ({ id: r.id, x: r.cells[2]!, y: r.cells[3]! }));
    const magenta = (x: number, y: number) =>
      page.evaluate(
        ([px, py]) => {
          const [r, g] = document
            .querySelector('canvas')!
            .getContext('2d')!
            .getImageData(px!, py!, 1, 1).data;
          return r! - g! > 100;
        },
        [Math.round(x), Math.round(y)],
      );
    const selectedIds = () =>
      page.$$eval('[data-testid=objects] tbody tr[aria-selected=true]', (trs) =>
        trs.map((tr) => Number(tr.getAttribute('data-id'))),
      );
    expect(await magenta(first!.x, first!.y)).toBe(false);
    const box = (await page.getByTestId('canvas').boundingBox())!;
    await page.getByTestId('canvas').click({
      position: { x: ((first!.x + 0.5) / 160) * box.width, y: ((first!.y + 0.5) / 120) * box.height },
    });
    expect(await selectedIds()).toEqual([first!.id]);
    expect(await magenta(first!.x, first!.y)).toBe(true);
    // A row clicked in the table moves the mark to its nucleus.
    await page.click(`[data-testid=objects] tbody tr[data-id="${second!.id}"]`);
    expect(await selectedIds()).toEqual([second!.id]);
    expect(await magenta(first!.x, first!.y)).toBe(false);
    await context.close();
  });

  it('multi-page 16-bit TIFF: every page can be picked and segmented', async () => {
    const context = await browser.newContext();
    const { page } = await openApp(context, '&sw=off');
    const pageA = syntheticNuclei(128, 96, { seed: 11, max: 40000 }) as Uint16Array;
    const pageB = syntheticNuclei(128, 96, { seed: 12, max: 40000 }) as Uint16Array;
    const tiff = multiPageTiff16([pageA, pageB], 128, 96);
    expect(await act(page, () => upload(page, 'stack.tif', tiff, 'image/tiff'))).toBe('done');
    expect(await page.$$eval('[data-testid=page] option', (o) => o.map((x) => x.textContent))).toEqual([
      '1',
      '2',
    ]);
    expect(await page.getByTestId('result').getAttribute('data-page')).toBe('0');
    const canvas = () => page.evaluate(() => document.querySelector('canvas')!.toDataURL());
    const first = await canvas();
    expect(await act(page, () => page.getByTestId('page').selectOption({ value: '1' }))).toBe('done');
    expect(await page.getByTestId('result').getAttribute('data-page')).toBe('1');
    expect(await canvas()).not.toBe(first);
    await context.close();
  });

  it('cancel stops a long run, says so, and the next run works', async () => {
    const context = await browser.newContext();
    const { page } = await openApp(context, '&sw=off');
    const outcome = act(page, () => upload(page, 'big.png', nucleiPng(1024, 1024, 5), 'image/png'));
    await page.waitForFunction(
      () =>
        /^Segmenting: [1-9]/.test(document.querySelector('[data-testid=progress-label]')?.textContent ?? ''),
      null,
      { timeout: 60_000 },
    );
    const clicked = Date.now();
    await page.getByTestId('cancel').click();
    expect(await outcome).toBe('cancelled');
    expect(Date.now() - clicked).toBeLessThan(5_000);
    expect(await page.getByTestId('progress-label').textContent()).toBe('Cancelled.');
    expect(await page.getByTestId('error').isHidden()).toBe(true);
    expect(await act(page, () => page.getByTestId('sample').click())).toBe('done');
    await context.close();
  });
});
