import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest } from '@quorum/shared/manifest';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../edge/scripts/wrangler-dev';
import {
  appError,
  appReady,
  clientContext,
  launchChromium,
  newPage,
  serviceWorkerReady,
} from './helpers/browser';
import { type RecordingProxy, startRecordingProxy } from './helpers/browser-proxy';

/**
 * Integrity and offline use of the hosted app: a blob altered on the way (the proxy's tamper route) is refused
 * with a visible error and never cached; a clean load caches the model and the app shell; with the network cut,
 * the app reloads from its service worker and segments with the cached model.
 */
const ctx = clientContext();
const manifest = parseManifest(readFileSync(join(ROOT, 'test/fixtures/tiny-ensemble/ensemble.json'), 'utf8'));
const shard = manifest.members[2]!.files[1]!;

let proxy: RecordingProxy;
let browser: Browser;

/** Run `action` and wait for the app to settle it; returns the outcome. */
async function act(page: Page, action: () => Promise<unknown>): Promise<string | undefined> {
  const before = Number((await page.evaluate(() => document.body.dataset['settled'])) ?? 0);
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset['settled'] ?? 0) > n, before, {
    timeout: 120_000,
  });
  return page.evaluate(() => document.body.dataset['outcome']);
}

describe.skipIf(!ctx)('hosted app: integrity and offline', () => {
  beforeAll(async () => {
    proxy = await startRecordingProxy();
    browser = await launchChromium({ proxy });
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
  });

  it('refuses a tampered or truncated blob with a visible error, then loads, caches, and works offline', async () => {
    const context = await browser.newContext();
    const { page, logs } = await newPage(context);
    const app = `${ctx!.edge}/?ensemble=${ctx!.ensemble}`;
    const path = `/v1/blobs/${shard.sha256}`;

    for (const [how, tamper, message] of [
      [
        'tampered',
        (b: Buffer) => Buffer.from(b.map((v, i) => (i === 99 ? v ^ 0x40 : v))),
        /tampered or corrupted/,
      ],
      [
        'truncated',
        (b: Buffer) => b.subarray(0, b.length >> 1),
        /got 5002 bytes but the manifest says 10004 \(truncated/,
      ],
    ] as const) {
      proxy.tamper.set(path, tamper);
      await page.goto(app);
      expect(await appReady(page), how).toBe('failed');
      const error = page.getByTestId('error');
      expect(await error.isVisible(), how).toBe(true);
      expect(await error.textContent(), how).toMatch(
        /^The model download failed its integrity check and was not used\./,
      );
      expect(await error.textContent(), how).toContain(shard.path);
      expect(await error.textContent(), how).toMatch(message);
      expect(await page.getByTestId('model').textContent(), how).toBe('not loaded');
    }

    // The real bytes: the bad copy was never cached, so this load downloads that blob (and only what is missing).
    proxy.tamper.clear();
    await page.goto(app);
    expect(await appReady(page), `${await appError(page)}\n${logs.join('\n')}`).toBe('true');
    expect(await page.getByTestId('error').isHidden()).toBe(true);
    expect(Number(await page.getByTestId('model').getAttribute('data-downloaded'))).toBeGreaterThanOrEqual(1);
    expect(await serviceWorkerReady(page), logs.join('\n')).toBe('ready');
    expect(await act(page, () => page.getByTestId('sample').click())).toBe('done');
    const online = await page.getByTestId('count').textContent();

    // Network cut: every request is refused. The page, its scripts, the worker and the WASM come from the service
    // worker's cache, the manifest and blobs from the engine's.
    proxy.offline = true;
    const cut = proxy.requests.length;
    await page.reload();
    expect(await appReady(page), `${await appError(page)}\n${logs.join('\n')}`).toBe('true');
    const model = page.getByTestId('model');
    expect(await model.getAttribute('data-offline')).toBe('true');
    expect(await model.getAttribute('data-downloaded')).toBe('0');
    expect(await model.textContent()).toMatch(/offline, from the cache/);
    expect(await act(page, () => page.getByTestId('sample').click())).toBe('done');
    expect(await page.getByTestId('count').textContent()).toBe(online);
    // The network really was asked (the manifest revalidation) and really refused.
    const attempts = proxy.since(cut).filter((r) => new URL(r.url).origin === ctx!.edge);
    expect(attempts.some((r) => r.url.includes('/v1/ensembles/'))).toBe(true);
    expect(attempts.every((r) => r.refused)).toBe(true);
    proxy.offline = false;
    await context.close();
  });
});
