import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

/**
 * One build, three entries, all into client/dist (the edge serves it as static assets):
 * - index.html: the hosted app;
 * - quorum-widget.js: the embeddable <quorum-segmenter> (stable name: portals paste its URL);
 * - sw.js: the app's service worker (stable name and at the root, so its scope is the whole app).
 * `base: './'` makes every asset URL relative to the module that uses it (Vite emits `new URL(..., import.meta.url)`),
 * which is what lets the widget, loaded from the edge into another origin, find its worker and WASM files.
 */
const root = import.meta.dirname;
const STABLE = new Set(['quorum-widget', 'sw']);
const PLACEHOLDER = /["'`]__QUORUM_PRECACHE__["'`]/;

/** Every file of the build, as URLs relative to the service worker (its scope). */
function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/**
 * Writes the app shell's file list into sw.js after the bundle is on disk (only then are the worker's and the WASM
 * files' hashed names all known), with a hash of the list so a new build installs a new service worker.
 */
function precacheManifest(): Plugin {
  let outDir = '';
  return {
    name: 'quorum-precache',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const swPath = join(outDir, 'sw.js');
      const files = listFiles(outDir)
        .map((p) => relative(outDir, p).split(sep).join('/'))
        .filter((f) => f !== 'sw.js' && !f.endsWith('.map'))
        .sort();
      const hash = createHash('sha256');
      for (const f of files) hash.update(f).update(readFileSync(join(outDir, f)));
      const list = JSON.stringify({ version: hash.digest('hex').slice(0, 16), files: ['./', ...files] });
      const sw = readFileSync(swPath, 'utf8');
      if (!PLACEHOLDER.test(sw)) throw new Error('sw.js lost its precache placeholder');
      writeFileSync(swPath, sw.replace(PLACEHOLDER, list));
    },
  };
}

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // TF.js is large; the warning would fire on every build without telling anything new.
    chunkSizeWarningLimit: 4096,
    sourcemap: false,
    rolldownOptions: {
      input: {
        app: resolve(root, 'index.html'),
        'quorum-widget': resolve(root, 'src/widget/index.ts'),
        sw: resolve(root, 'src/sw.ts'),
      },
      output: {
        entryFileNames: (chunk) => (STABLE.has(chunk.name) ? '[name].js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  worker: {
    format: 'es',
    rolldownOptions: {
      output: {
        // Whitespace only in the worker: tfjs-backend-wasm starts its pthread workers from the *source text* of its
        // Emscripten factory (`factory.toString()`), evaluated in a fresh scope. Mangling renames the names it
        // guards with `typeof` ("e is not defined"); compression turns those `typeof x !== 'undefined'` guards
        // into `x !== void 0` ("_scriptDir is not defined"). Either kills every pthread worker.
        minify: { mangle: false, compress: false, codegen: { removeWhitespace: true } },
      },
    },
  },
  plugins: [precacheManifest()],
});
