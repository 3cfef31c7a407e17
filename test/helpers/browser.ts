import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';
import type { RecordingProxy } from './browser-proxy';

/**
 * Headless Debian Chromium through playwright-core (which never downloads a browser), with the flags that keep it
 * off the internet. Every launch routes all traffic through a recording proxy (browser-proxy.ts).
 */
export const CHROMIUM =
  process.env['QUORUM_CHROMIUM'] ??
  // The binary itself, not Debian's /usr/bin/chromium wrapper: the wrapper sources /etc/chromium.d, which turns on
  // remote extension updates and Google API keys, and the browser then calls update.googleapis.com and
  // accounts.google.com on its own, noise in a test that records every request.
  (existsSync('/usr/lib/chromium/chromium') ? '/usr/lib/chromium/chromium' : '/usr/bin/chromium');

/** What the client project's global setup hands each test file (browser-setup.ts). */
export interface ClientTestContext {
  /** The seeded wrangler dev edge, serving client/dist. */
  edge: string;
  /** Name of the tiny test ensemble published there. */
  ensemble: string;
  token: string;
}

/**
 * The context, or undefined when the file runs outside the `client` Vitest project (the root `e2e` project's glob
 * also matches test/client-*.test.ts; there the files skip instead of running twice without their setup).
 */
export function clientContext(): ClientTestContext | undefined {
  return inject('quorumClient' as never) as ClientTestContext | undefined;
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export interface LaunchOptions {
  proxy: RecordingProxy;
  /** `--enable-unsafe-webgpu`: a SwiftShader (software) adapter on machines without a GPU. */
  webgpu?: boolean;
}

export async function launchChromium(options: LaunchOptions): Promise<Browser> {
  const args = [
    '--no-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-extensions',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--no-pings',
    `--proxy-server=${options.proxy.url}`,
    // Chromium bypasses proxies for loopback by default; `<-loopback>` removes that so the proxy sees everything.
    '--proxy-bypass-list=<-loopback>',
  ];
  if (options.webgpu) args.push('--enable-unsafe-webgpu');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 60_000 });
}

/** A page that collects console errors and uncaught exceptions, for failure messages. */
export async function newPage(context: BrowserContext): Promise<{ page: Page; logs: string[] }> {
  const page = await context.newPage();
  // Navigation waits for the page's load event, which on a loaded 2-core CI machine (wrangler, Chromium and the
  // test runner sharing it) once took over Playwright's default 30 s; behaviour, not speed, is under test.
  page.setDefaultNavigationTimeout(90_000);
  const logs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') logs.push(`[${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  return { page, logs };
}

/** What the app shows in its error line (empty when none): the reason when appReady says 'failed'. */
export async function appError(page: Page): Promise<string> {
  return (await page.getByTestId('error').textContent()) ?? '';
}

/** Wait until the app has loaded its ensemble (or failed to), and say which. */
/**
 * Waits until the page's service worker is active (the app shell precached): 'ready', or after `timeout` ms what
 * the registration holds instead, so a failed or stuck install fails the test at once with its state rather
 * than hanging it until the test's own timeout (navigator.serviceWorker.ready never settles on failure).
 */
export async function serviceWorkerReady(page: Page, timeout = 60_000): Promise<string> {
  return page.evaluate(async (ms) => {
    const late = new Promise<string>((resolve) => setTimeout(resolve, ms, 'late'));
    if ((await Promise.race([navigator.serviceWorker.ready.then(() => 'ready'), late])) === 'ready')
      return 'ready';
    const r = await navigator.serviceWorker.getRegistration();
    if (!r) return `no service worker registered after ${ms} ms`;
    const states = { installing: r.installing?.state, waiting: r.waiting?.state, active: r.active?.state };
    return `service worker not active after ${ms} ms: ${JSON.stringify(states)}`;
  }, timeout);
}

export async function appReady(page: Page, timeout = 120_000): Promise<'true' | 'failed'> {
  await page.waitForFunction(() => document.body.dataset['ready'] !== undefined, null, { timeout });
  return (await page.evaluate(() => document.body.dataset['ready'])) as 'true' | 'failed';
}

/**
 * A plain static site on its own loopback port: another origin, and no COOP/COEP headers (not cross-origin
 * isolated), like a portal embedding the widget.
 */
export interface HostSite {
  url: string;
  close(): Promise<void>;
}

export async function startHostSite(
  files: Record<string, { type: string; body: string | Uint8Array }>,
): Promise<HostSite> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = files[path];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, {
        'Content-Type': file.type,
        'Cache-Control': 'no-store',
        // Readable from the edge's isolated pages too (the benchmark fetches its test image from here).
        'Access-Control-Allow-Origin': '*',
        'Cross-Origin-Resource-Policy': 'cross-origin',
      })
      .end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // `localhost`, not 127.0.0.1: a different host as well as a different port from the edge.
    url: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Dice coefficient of two 0/non-0 masks. */
export function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    inter += x & y;
    sa += x;
    sb += y;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}
