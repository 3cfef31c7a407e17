import { encode as encodeJpeg } from 'jpeg-js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientContext, type HostSite, launchChromium, newPage, startHostSite } from './helpers/browser';
import { nucleiPng, syntheticNuclei } from './helpers/browser-images';
import { type RecordingProxy, startRecordingProxy } from './helpers/browser-proxy';

/**
 * The embeddable widget on a plain page of another origin (a different host and port from the edge) that sends no
 * COOP/COEP headers, so it is not cross-origin isolated: one script tag from the edge, one element.
 */
const ctx = clientContext();

let proxy: RecordingProxy;
let browser: Browser;
let site: HostSite;

function portalPage(edge: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>A lab portal</title>
<style>p.host { color: rgb(1, 2, 3); font-family: serif; } .drop { border: none; }</style></head>
<body>
  <p class="host">Our microscopy portal.</p>
  <div class="drop">the portal's own .drop element</div>
  <quorum-segmenter id="seg" ensemble="${ctx!.ensemble}" edge="${edge}"></quorum-segmenter>
  <script>
    // Listen from the start: the element loads its ensemble as soon as the script defines it.
    window.events = [];
    for (const type of ['quorum-ready', 'quorum-progress', 'quorum-result', 'quorum-error']) {
      document.addEventListener(type, (e) => window.events.push({ type, detail: e.detail }));
    }
  </script>
  <script type="module" src="${edge}/quorum-widget.js"></script>
</body></html>`;
}

type Ev = { type: string; detail: any };
const events = (page: Page): Promise<Ev[]> =>
  page.evaluate(() =>
    (window as unknown as { events: Ev[] }).events.map((e) => ({
      type: e.type,
      // Typed arrays become plain objects through evaluate: keep what the assertions read.
      detail:
        e.type === 'quorum-result'
          ? {
              ...e.detail,
              mask: e.detail.mask.length,
              labels: e.detail.labels.length,
              probability: undefined,
            }
          : e.detail,
    })),
  );

async function openPortal(): Promise<{ page: Page; logs: string[] }> {
  const context = await browser.newContext();
  const opened = await newPage(context);
  await opened.page.goto(`${site.url}/`);
  await opened.page.waitForFunction(
    () => (window as unknown as { events: Ev[] }).events.some((e) => e.type !== 'quorum-progress'),
    null,
    { timeout: 120_000 },
  );
  return opened;
}

describe.skipIf(!ctx)('<quorum-segmenter> embedded in a plain page on another origin', () => {
  beforeAll(async () => {
    site = await startHostSite({ '/': { type: 'text/html', body: portalPage(ctx!.edge) } });
    proxy = await startRecordingProxy();
    browser = await launchChromium({ proxy });
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await site?.close();
  });

  it('loads single-threaded WASM in a non-isolated page and segments a picked file, with events', async () => {
    const { page, logs } = await openPortal();
    expect(await page.evaluate(() => [location.origin !== '', crossOriginIsolated])).toEqual([true, false]);
    const ready = (await events(page)).find((e) => e.type === 'quorum-ready');
    expect(ready, logs.join('\n')).toBeDefined();
    expect(ready!.detail.backend).toMatchObject({
      name: 'wasm',
      threads: 1,
      simd: true,
      crossOriginIsolated: false,
    });
    expect(ready!.detail.backend.detail).toBe(
      "WASM (SIMD build, 1 thread, Quorum's kernels, Winograd 3x3 convolutions with fused multiply-add)",
    );
    expect(ready!.detail.backend.fallbacks[0]).toMatch(
      /^webgpu: (WebGPU is not available|no WebGPU adapter)/,
    );
    expect(ready!.detail.ensemble).toMatchObject({ name: 'tiny-test', version: '0.0.1', members: 4 });

    // The shadow root's file input, as a person would use it.
    await page.setInputFiles('quorum-segmenter input[type=file]', {
      name: 'cells.png',
      mimeType: 'image/png',
      buffer: Buffer.from(nucleiPng(200, 150, 9)),
    });
    await page.waitForFunction(() =>
      (window as unknown as { events: Ev[] }).events.some((e) => e.type === 'quorum-result'),
    );
    const all = await events(page);
    const progress = all.filter((e) => e.type === 'quorum-progress').map((e) => e.detail);
    expect(progress.some((p) => p.phase === 'download')).toBe(true);
    expect(progress.some((p) => p.phase === 'infer' && p.done === p.total)).toBe(true);
    const result = all.find((e) => e.type === 'quorum-result')!.detail;
    expect(result).toMatchObject({ width: 200, height: 150, mask: 30_000, labels: 30_000, rule: 'mean' });
    expect(result.count).toBe(result.objects.length);
    expect(result.count).toBeGreaterThan(0);
    expect(await page.locator('quorum-segmenter .count').textContent()).toBe(
      `${result.count} object${result.count === 1 ? '' : 's'}`,
    );
  });

  it('JS API: segment(ImageData | File) resolves the result; memory stays flat; adaptive; errors are events', async () => {
    const { page } = await openPortal();
    const pixels = Array.from(syntheticNuclei(160, 120, { seed: 21 }));
    const runs = await page.evaluate(async (grey) => {
      const data = new Uint8ClampedArray(grey.length * 4);
      for (const [i, v] of grey.entries()) data.set([v, v, v, 255], i * 4);
      const el = document.querySelector('quorum-segmenter') as HTMLElement & {
        segment(x: ImageData | Blob): Promise<{ count: number; tensors: { count: number; bytes: number } }>;
      };
      const out = [];
      for (let i = 0; i < 3; i++) out.push(await el.segment(new ImageData(data, 160, 120)));
      return out.map((r) => ({ count: r.count, tensors: r.tensors }));
    }, pixels);
    expect(new Set(runs.map((r) => r.count)).size).toBe(1);
    // Every tile's tensors are disposed: what is alive after a run is the models' weights, the same each time.
    expect(runs[1]!.tensors).toEqual(runs[0]!.tensors);
    expect(runs[2]!.tensors).toEqual(runs[0]!.tensors);

    // adaptive is exact by default; adaptive="off" runs every member and gives the same objects.
    const adaptive = await page.evaluate(async (grey) => {
      const data = new Uint8ClampedArray(grey.length * 4);
      for (const [i, v] of grey.entries()) data.set([v, v, v, 255], i * 4);
      const el = document.querySelector('quorum-segmenter') as HTMLElement & {
        segment(x: ImageData): Promise<{ count: number; skipped?: number; evaluations: number }>;
      };
      el.setAttribute('adaptive', 'off');
      const r = await el.segment(new ImageData(data, 160, 120));
      el.removeAttribute('adaptive');
      return { count: r.count, skipped: r.skipped, evaluations: r.evaluations };
    }, pixels);
    expect(adaptive.count).toBe(runs[0]!.count);
    expect(adaptive.skipped).toBeUndefined();

    // A JPEG (RGB, identical channels) goes through the same decoder as `quorum segment`.
    const grey = syntheticNuclei(120, 90, { seed: 22 });
    const rgba = new Uint8Array(grey.length * 4);
    for (const [i, v] of grey.entries()) rgba.set([v, v, v, 255], i * 4);
    const jpeg = Array.from(encodeJpeg({ data: rgba, width: 120, height: 90 }, 95).data);
    const fromJpeg = await page.evaluate(async (bytes) => {
      const el = document.querySelector('quorum-segmenter') as HTMLElement & {
        segment(x: Blob): Promise<{ width: number; height: number }>;
      };
      const r = await el.segment(new File([new Uint8Array(bytes)], 'cells.jpg', { type: 'image/jpeg' }));
      return [r.width, r.height];
    }, jpeg);
    expect(fromJpeg).toEqual([120, 90]);

    const error = await page.evaluate(async () => {
      const el = document.querySelector('quorum-segmenter') as HTMLElement & {
        segment(x: Blob): Promise<unknown>;
      };
      const file = new File(['not an image at all'], 'notes.png', { type: 'image/png' });
      return el.segment(file).then(
        () => null,
        (e: { kind: string; message: string }) => ({ kind: e.kind, message: e.message }),
      );
    });
    expect(error).toEqual({ kind: 'input', message: 'notes.png: not a PNG, TIFF or JPEG file' });
    const errorEvent = (await events(page)).find((e) => e.type === 'quorum-error')!;
    expect(errorEvent.detail).toEqual({ kind: 'input', code: 'unsupported', message: error!.message });
    expect(await page.locator('quorum-segmenter .error').textContent()).toMatch(
      /Could not read "notes\.png"/,
    );
  });

  it('attributes: a pinned version, the aggregation rule and flip TTA reach the engine', async () => {
    const { page } = await openPortal();
    const from = proxy.requests.length;
    const pixels = Array.from(syntheticNuclei(96, 96, { seed: 23 }));
    const out = await page.evaluate(async (grey) => {
      const data = new Uint8ClampedArray(grey.length * 4);
      for (const [i, v] of grey.entries()) data.set([v, v, v, 255], i * 4);
      type R = { rule: string; evaluations: number; ensemble: { version: string } };
      const el = document.querySelector('quorum-segmenter') as HTMLElement & {
        segment(x: ImageData): Promise<R>;
      };
      const plain = await el.segment(new ImageData(data, 96, 96));
      el.setAttribute('version', '0.0.1'); // reloads from the pinned manifest
      el.setAttribute('aggregation', 'union');
      el.setAttribute('tta', '');
      const tuned = await el.segment(new ImageData(data, 96, 96));
      return { plain, tuned };
    }, pixels);
    expect(out.plain.rule).toBe('mean');
    expect(out.tuned).toMatchObject({ rule: 'union', ensemble: { version: '0.0.1' } });
    expect(out.tuned.evaluations).toBe(4 * out.plain.evaluations);
    const manifests = proxy
      .since(from)
      .map((r) => new URL(r.url).pathname)
      .filter((p) => p.startsWith('/v1/ensembles/'));
    expect(manifests).toContain(`/v1/ensembles/${ctx!.ensemble}/0.0.1`);
  });

  it('cancel() stops within one member call and rejects as aborted', async () => {
    const { page } = await openPortal();
    const outcome = await page.evaluate(
      async (grey) => {
        const data = new Uint8ClampedArray(grey.length * 4);
        for (const [i, v] of grey.entries()) data.set([v, v, v, 255], i * 4);
        const el = document.querySelector('quorum-segmenter') as HTMLElement & {
          segment(x: ImageData): Promise<unknown>;
          cancel(): void;
        };
        let cancelledAt = -1;
        let last = 0;
        let after = 0;
        el.addEventListener('quorum-progress', (e) => {
          const p = (e as CustomEvent).detail;
          if (p.phase !== 'infer') return;
          last = p.done;
          if (cancelledAt >= 0) after++;
          else if (p.done >= 8) {
            cancelledAt = p.done;
            el.cancel();
          }
        });
        const error = await el.segment(new ImageData(data, 768, 768)).then(
          () => null,
          (e: { kind: string }) => e.kind,
        );
        return { error, cancelledAt, last, after };
      },
      Array.from(syntheticNuclei(768, 768, { seed: 5 })),
    );
    expect(outcome.error).toBe('aborted');
    // In the worker, no model call starts once the cancel has landed (client-engine-units proves it exactly); seen
    // from the page, the member call running then (a batch of up to 4 tiles) may finish, and one more may have
    // started while the progress event and the cancel were crossing between page and worker.
    expect(outcome.after).toBeLessThanOrEqual(2);
    expect(outcome.last - outcome.cancelledAt).toBeLessThanOrEqual(8);
  });

  it('keeps its styles in its shadow root and leaves the page alone', async () => {
    const { page } = await openPortal();
    const styles = await page.evaluate(() => ({
      host: getComputedStyle(document.querySelector('p.host')!).color,
      hostFont: getComputedStyle(document.querySelector('p.host')!).fontFamily,
      portalDrop: getComputedStyle(document.querySelector('body > .drop')!).borderTopStyle,
      widgetDrop: getComputedStyle(
        document.querySelector('quorum-segmenter')!.shadowRoot!.querySelector('.drop')!,
      ).borderTopStyle,
      headStyles: document.head.querySelectorAll('style, link[rel=stylesheet]').length,
      shadow: document.querySelector('quorum-segmenter')!.shadowRoot!.mode,
    }));
    expect(styles).toEqual({
      host: 'rgb(1, 2, 3)',
      hostFont: 'serif',
      portalDrop: 'none',
      widgetDrop: 'dashed',
      headStyles: 1,
      shadow: 'open',
    });
  });
});
