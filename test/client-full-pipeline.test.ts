import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeImage, parseManifest } from '@quorum/shared';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../edge/scripts/wrangler-dev';
import { appError, appReady, clientContext, dice, launchChromium, newPage } from './helpers/browser';
import { type RecordingProxy, startRecordingProxy } from './helpers/browser-proxy';

/**
 * The product's story in one test: train a tiny ensemble with the CLI on the committed samples, publish it to the
 * local edge with `quorum publish`, open the hosted app in headless Chromium, segment a sample image there, and
 * compare with `quorum segment` in Node on the same file.
 */
const ctx = clientContext();
const QUORUM = join(ROOT, 'node_modules/.bin/quorum');
const DATA = join(ROOT, 'data/samples/dsb2018-fluo');
const STEM = '52b267e20519174e3ce1e1994b5d677804b16bc670aa5f6ffb6344a0fdf63fde';
const IMAGE = join(DATA, 'images', `${STEM}.png`);
const run = promisify(execFile);

let tmp: string;
let proxy: RecordingProxy;
let browser: Browser;

describe.skipIf(!ctx)('full pipeline: train -> publish -> browser segment == Node segment', () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'quorum-pipeline-'));
    proxy = await startRecordingProxy();
    browser = await launchChromium({ proxy });
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('an ensemble trained by the CLI segments identically in Chromium and in Node', async () => {
    const ens = join(tmp, 'ensemble');
    await run(
      QUORUM,
      [
        'train',
        '--data',
        DATA,
        '--out',
        ens,
        '--mode-column',
        'acquisition',
        '--folds',
        '2',
        '--depth',
        '2',
        '--base-filters',
        '4',
        '--patch',
        '64',
        '--batch',
        '2',
        '--epochs',
        '2',
        '--steps',
        '3',
        '--tile',
        '128',
        '--halo',
        '8',
        '--seed',
        '7',
        '--backend',
        'wasm',
        '--name',
        'pipeline',
        '--version',
        '1.0.0',
      ],
      { cwd: ROOT, timeout: 240_000 },
    );
    const manifest = parseManifest(await readFile(join(ens, 'ensemble.json'), 'utf8'));
    expect(manifest.members).toHaveLength(4);

    const published = await run(QUORUM, ['publish', ens, '--edge', ctx!.edge, '--promote'], {
      cwd: ROOT,
      env: { ...process.env, QUORUM_PUBLISH_TOKEN: ctx!.token },
    });
    expect(published.stdout).toMatch(/pipeline 1\.0\.0: published/);

    const out = join(tmp, 'node');
    const segmented = await run(
      QUORUM,
      ['segment', '--ensemble', ens, IMAGE, '--out', out, '--backend', 'wasm'],
      { cwd: ROOT },
    );
    const nodeCount = Number(/: (\d+) objects/.exec(segmented.stdout)![1]);
    const nodeMask = decodeImage(new Uint8Array(await readFile(join(out, `${STEM}.mask.png`))));

    const context = await browser.newContext({ acceptDownloads: true });
    const { page, logs } = await newPage(context);
    await page.goto(`${ctx!.edge}/?ensemble=pipeline`);
    const state = await appReady(page);
    expect(state, `${await appError(page)}\n${logs.join('\n')}`).toBe('true');
    expect(await page.getByTestId('model').textContent()).toMatch(/^pipeline 1\.0\.0 \(4 members/);
    const before = Number((await page.evaluate(() => document.body.dataset['settled'])) ?? 0);
    await page.setInputFiles('[data-testid=file]', IMAGE);
    await page.waitForFunction((n) => Number(document.body.dataset['settled'] ?? 0) > n, before, {
      timeout: 180_000,
    });
    expect(await page.evaluate(() => document.body.dataset['outcome']), logs.join('\n')).toBe('done');
    expect(Number(await page.getByTestId('count').textContent())).toBe(nodeCount);
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-testid=download-mask]'),
    ]);
    const path = join(tmp, 'browser-mask.png');
    await dl.saveAs(path);
    const browserMask = decodeImage(new Uint8Array(await readFile(path)));
    expect([browserMask.width, browserMask.height]).toEqual([nodeMask.width, nodeMask.height]);
    expect(dice(browserMask.data, nodeMask.data)).toBeGreaterThanOrEqual(0.999);
    // The image stayed on the device: every request that left the browser was a body-less GET on loopback (the
    // proxy refuses everything else, e.g. Chromium's own update pings), and no request, refused or not, carried
    // the image's bytes.
    const passed = proxy.requests.filter((r) => !r.refused);
    expect(
      passed.filter((r) => r.method !== 'GET' || r.body.length > 0).map((r) => `${r.method} ${r.url}`),
    ).toEqual([]);
    const imageBytes = await readFile(IMAGE);
    const probe = imageBytes.subarray(imageBytes.length >> 1, (imageBytes.length >> 1) + 64);
    expect(proxy.requests.filter((r) => r.body.includes(probe))).toEqual([]);
    await context.close();
  });
});
