// Regenerates docs/app.png, the README's picture: the hosted app (npm start must be running; QUORUM_EDGE_PORT to
// choose the port) segmenting the bundled sample with the bundled default ensemble, in headless Chromium.
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../test/helpers/browser';

const port = Number(process.env['QUORUM_EDGE_PORT'] ?? 8787);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
await page.goto(`http://127.0.0.1:${port}/`);
await page.waitForFunction(() => document.body.dataset['ready'] === 'true', null, { timeout: 180_000 });
await page.getByTestId('sample').click();
await page.waitForFunction(() => document.body.dataset['outcome'] === 'done', null, { timeout: 300_000 });
await page.screenshot({ path: join(import.meta.dirname, '..', 'docs', 'app.png') });
console.log(`docs/app.png: ${await page.getByTestId('count').textContent()} objects`);
await browser.close();
