// Builds check.mjs (one ESM bundle for Node 20) from src/check.ts, and copies the tfjs-backend-wasm binaries it
// loads into kit/wasm. Run from anywhere: node bench/gpu-node/build.mjs (uses the repo's esbuild); prepare.sh runs it.
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
// What prepare.sh assembles and a device run carries: git-ignored.
const KIT = join(HERE, 'kit');
const require = createRequire(join(ROOT, 'package.json'));
const esbuild = require('esbuild');

// The client imports the three .wasm builds with Vite's `?url` suffix; here each becomes the absolute path of
// the copy in <kit>/wasm/, computed at run time from the bundle's own location.
const viteUrl = {
  name: 'vite-url-suffix',
  setup(b) {
    b.onResolve({ filter: /\?url$/ }, (args) => ({
      path: args.path.replace(/\?url$/, ''),
      namespace: 'asset-url',
    }));
    b.onLoad({ filter: /.*/, namespace: 'asset-url' }, (args) => ({
      contents:
        "import { fileURLToPath } from 'node:url';\n" +
        `export default fileURLToPath(new URL(${JSON.stringify(`./wasm/${basename(args.path)}`)}, import.meta.url));\n`,
      loader: 'js',
    }));
  },
};

const result = await esbuild.build({
  entryPoints: [join(HERE, 'src/check.ts')],
  outfile: join(KIT, 'check.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // ESM builds of every tfjs package, so that they all share one tfjs-core (one engine, one kernel registry).
  mainFields: ['module', 'main'],
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  external: ['node-fetch'],
  plugins: [viteUrl],
  logLevel: 'warning',
  metafile: true,
  banner: {
    js:
      "import { createRequire as __qCreateRequire } from 'node:module';\n" +
      "import { fileURLToPath as __qFileURLToPath } from 'node:url';\n" +
      "import { dirname as __qDirname } from 'node:path';\n" +
      'const require = __qCreateRequire(import.meta.url);\n' +
      'const __filename = __qFileURLToPath(import.meta.url);\n' +
      'const __dirname = __qDirname(__filename);\n',
  },
});

// One copy of each tfjs package: a UMD/CJS build next to the ESM one would mean two engines.
const bundles = Object.keys(result.metafile.inputs).filter((p) =>
  /@tensorflow\/[^/]+\/dist\/(tf[^/]*\.js|index\.js)$/.test(p),
);
console.log(`tfjs entry files bundled:\n  ${bundles.join('\n  ')}`);
if (bundles.some((p) => /\/dist\/tf[^/]*\.js$/.test(p))) throw new Error('a non-ESM tfjs build got bundled');

const wasmDir = join(KIT, 'wasm');
mkdirSync(wasmDir, { recursive: true });
const wasmSrc = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
// Node runs the SIMD build (threads are hard-wired off in Node); the plain build is the fallback without SIMD.
for (const f of ['tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm'])
  copyFileSync(join(wasmSrc, f), join(wasmDir, f));
console.log(`check.mjs: ${(statSync(join(KIT, 'check.mjs')).size / 1e6).toFixed(2)} MB`);
