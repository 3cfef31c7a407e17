import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { build } from 'vite';

const HERE = import.meta.dirname;

/** Every file under `dir`, as paths relative to it with '/' separators. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}

/**
 * Builds page.ts (TF.js + its WASM backend + Quorum's kernels + ONNX Runtime Web) into `outDir` as one ES module,
 * `page.js`, plus the TF.js .wasm files it imports as URLs. Not minified: nothing is shipped, and it saves CPU on
 * machines shared with training jobs. Returns the files written, relative to outDir.
 */
export async function buildPeerPage(outDir: string): Promise<string[]> {
  await build({
    configFile: false,
    root: HERE,
    // Asset URLs relative to page.js (Vite emits `new URL(asset, import.meta.url)`), whatever path serves it.
    base: './',
    publicDir: false,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      sourcemap: false,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 1 << 20,
      rolldownOptions: {
        input: join(HERE, 'page.ts'),
        output: { entryFileNames: 'page.js' },
      },
    },
  });
  return listFiles(outDir);
}
