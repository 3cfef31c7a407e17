// shared/ must run in a browser page and a Web Worker, not only in Node. This bundles the image module the way
// the client does (Vite, browser target) and runs the bundle in a bare V8 context that has what a worker has
// (JS built-ins, TextEncoder/TextDecoder, `self`, `console`) and none of Node's globals: no `require`, `module`,
// `process` or `Buffer`. It caught a real bug: utif2 looks for pako with `typeof require`, which Vite 8 leaves
// as is, so Deflate TIFFs failed in browser bundles.
import { runInNewContext } from 'node:vm';
import { build, type Rolldown } from 'vite';
import { describe, expect, it } from 'vitest';
import * as node from '../src/image';
import { fixture } from './fixtures/images/patterns';

type ImageModule = typeof node;

async function bundleForBrowser(): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: false,
      lib: {
        entry: new URL('../src/image/index.ts', import.meta.url).pathname,
        formats: ['iife'],
        name: 'QuorumImage',
        fileName: () => 'image.js',
      },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunk = outputs[0]!.output.find((o) => o.type === 'chunk');
  return chunk!.code;
}

describe('image module in a browser-like context (Vite bundle, no Node globals)', () => {
  it('decodes and encodes every format like Node does, silently', async () => {
    const code = await bundleForBrowser();
    const logged: unknown[][] = [];
    const quiet = { log: (...a: unknown[]) => logged.push(a), warn: (...a: unknown[]) => logged.push(a) };
    const context: Record<string, unknown> = { TextEncoder, TextDecoder, console: quiet };
    context['self'] = context;
    runInNewContext(`${code}\nself.QuorumImage = QuorumImage;`, context);
    const browser = context['QuorumImage'] as ImageModule;
    for (const name of ['require', 'module', 'process', 'Buffer']) expect(name in context).toBe(false);

    const files = [
      'png-rgba16.png',
      'png-palette.png',
      'tiff-u16-lzw.tif',
      'tiff-u16-deflate-pred-be.tif',
      'tiff-u16-deflate32946.tif',
      'tiff-u16-tiled.tif',
      'tiff-u8-packbits.tif',
      'tiff-f32-deflate-be.tif',
      'jpeg-rgb.jpg',
      'jpeg-rgb-progressive.jpg',
      'jpeg-gray.jpg',
    ];
    for (const name of files) {
      const inBrowser = browser.decodeImage(fixture(name), { name });
      const inNode = node.decodeImage(fixture(name), { name });
      expect({ ...inBrowser, data: Array.from(inBrowser.data) }, name).toEqual({
        ...inNode,
        data: Array.from(inNode.data),
      });
    }
    expect(browser.countPages(fixture('tiff-u8-pages-be.tif'))).toBe(4);
    const map = new Float32Array([0, 0.25, 0.5, 1]);
    expect(Array.from(browser.decodeImage(browser.encodeTiff(map, 2, 2)).data)).toEqual([0, 0.25, 0.5, 1]);
    const labels = new Uint16Array([0, 1, 2, 65535]);
    expect(Array.from(browser.decodeImage(browser.encodePng(labels, 2, 2)).data)).toEqual([0, 1, 2, 65535]);
    // Errors keep their class name and code across the bundle boundary.
    expect(() => browser.decodeImage(new TextEncoder().encode('hello'), { name: 'a.png' })).toThrow(
      expect.objectContaining({ name: 'QuorumInputError', code: 'unsupported' }),
    );
    expect(logged).toEqual([]);
  });
});
