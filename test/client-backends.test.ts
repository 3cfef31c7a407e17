import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientContext, type HostSite, launchChromium, newPage, startHostSite } from './helpers/browser';
import { syntheticNuclei } from './helpers/browser-images';
import { type RecordingProxy, startRecordingProxy } from './helpers/browser-proxy';

/**
 * Backend choice in a real browser. With `--enable-unsafe-webgpu` this machine has only SwiftShader, a software
 * WebGPU adapter: correct but 70-200x slower than WASM and 6-35 s of shader compilation on first use, so WebGPU is
 * only run forced, on one 64x64 image. Pages are on the test's own origin (not isolated), with widgets as the API.
 */
const ctx = clientContext();

let proxy: RecordingProxy;
let site: HostSite;

const page = (edge: string) => `<!doctype html><html><head><meta charset="utf-8"></head><body>
  <quorum-segmenter id="auto" ensemble="${ctx!.ensemble}" edge="${edge}"></quorum-segmenter>
  <script type="module" src="${edge}/quorum-widget.js"></script>
</body></html>`;

type Outcome = {
  backend: { name: string; detail: string; fallbacks: string[]; threads: number };
  probability: number[];
  mask: number[];
};

/** Segment a 64x64 image with a widget forced to `backend` (absent: auto), in the page. */
function segmentWith(p: Page, grey: number[], backend?: string): Promise<Outcome> {
  return p.evaluate(
    async ([grey, backend]) => {
      await customElements.whenDefined('quorum-segmenter');
      const el = document.createElement('quorum-segmenter') as HTMLElement & {
        segment(
          x: ImageData,
        ): Promise<{ backend: Outcome['backend']; probability: Float32Array; mask: Uint8Array }>;
      };
      const auto = document.getElementById('auto')!;
      for (const a of ['ensemble', 'edge']) el.setAttribute(a, auto.getAttribute(a)!);
      if (backend) el.setAttribute('backend', backend);
      document.body.append(el);
      const data = new Uint8ClampedArray(grey.length * 4);
      for (const [i, v] of grey.entries()) data.set([v, v, v, 255], i * 4);
      const r = await el.segment(new ImageData(data, 64, 64));
      el.remove();
      return { backend: r.backend, probability: Array.from(r.probability), mask: Array.from(r.mask) };
    },
    [grey, backend] as const,
  );
}

describe.skipIf(!ctx)('backends in Chromium', () => {
  beforeAll(async () => {
    site = await startHostSite({ '/': { type: 'text/html', body: page(ctx!.edge) } });
    proxy = await startRecordingProxy();
  });

  afterAll(async () => {
    await proxy?.close();
    await site?.close();
  });

  describe('with a software WebGPU adapter (--enable-unsafe-webgpu)', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium({ proxy, webgpu: true });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('auto skips the software adapter for WASM and says why; forced WebGPU equals WASM within 1e-4', async () => {
      const { page: p, logs } = await newPage(await browser.newContext());
      await p.goto(`${site.url}/`);
      const grey = Array.from(syntheticNuclei(64, 64, { seed: 31 }));
      const auto = await segmentWith(p, grey);
      expect(auto.backend.name, logs.join('\n')).toBe('wasm');
      expect(auto.backend.fallbacks).toEqual([
        expect.stringMatching(/^webgpu: only a software adapter \(.*\), slower than WASM$/),
      ]);

      const gpu = await segmentWith(p, grey, 'webgpu');
      expect(gpu.backend.name, logs.join('\n')).toBe('webgpu');
      expect(gpu.backend.detail).toMatch(/^WebGPU: .*software fallback adapter/);
      expect(gpu.backend.fallbacks).toEqual([]);
      let maxDiff = 0;
      for (let i = 0; i < grey.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(gpu.probability[i]! - auto.probability[i]!));
      expect(maxDiff).toBeLessThanOrEqual(1e-4);
      expect(gpu.mask).toEqual(auto.mask);
    }, 240_000);
  });

  describe('without WebGPU', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium({ proxy });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('falls back to WASM and reports why; forcing WebGPU falls back too, with the reason recorded', async () => {
      const { page: p } = await newPage(await browser.newContext());
      await p.goto(`${site.url}/`);
      expect(await p.evaluate(() => 'gpu' in navigator && crossOriginIsolated)).toBe(false);
      const grey = Array.from(syntheticNuclei(64, 64, { seed: 32 }));
      const auto = await segmentWith(p, grey);
      // Not cross-origin isolated: the SIMD build, one thread.
      expect(auto.backend).toMatchObject({
        name: 'wasm',
        threads: 1,
        detail:
          "WASM (SIMD build, 1 thread, Quorum's kernels, Winograd 3x3 convolutions with fused multiply-add)",
      });
      expect(auto.backend.fallbacks).toEqual([
        expect.stringMatching(/^webgpu: (no WebGPU adapter|WebGPU is not available)/),
      ]);
      const forced = await segmentWith(p, grey, 'webgpu');
      expect(forced.backend.name).toBe('wasm');
      expect(forced.backend.fallbacks).toEqual(auto.backend.fallbacks);
      expect(forced.mask).toEqual(auto.mask);
      const cpu = await segmentWith(p, grey, 'cpu');
      expect(cpu.backend).toMatchObject({ name: 'cpu', fallbacks: [] });
      let maxDiff = 0;
      for (let i = 0; i < grey.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(cpu.probability[i]! - auto.probability[i]!));
      expect(maxDiff).toBeLessThanOrEqual(1e-4);
    });
  });
});
