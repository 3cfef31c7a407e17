import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../../test/helpers/browser';
import { startRecordingProxy } from '../../test/helpers/browser-proxy';
import { checkBatch, MAX_ABS_DIFF, runPeer } from './peer';

/**
 * `npx tsx bench/peer/run.ts [--ensemble DIR] [--member N] [--size PX] [--batch N] [--runs N]`: the speed peer
 * alone, printing its JSON. Each timed run is one forward of `batch` different size x size images (default 512 px,
 * batch 1); the engine's own configuration (the windows the pipeline plans for bench:client's 2048 px image at the
 * ensemble's tiling, at the engine's WASM batch for them) is what `npm run bench:client` measures. Chromium is launched the way the browser tests and the client
 * benchmark launch it (through the loopback-only recording proxy, so the page can reach nothing but 127.0.0.1).
 */
const ROOT = resolve(import.meta.dirname, '../..');

const { values } = parseArgs({
  options: {
    ensemble: { type: 'string', default: resolve(ROOT, 'models/dsb2018-fluo') },
    member: { type: 'string', default: '0' },
    size: { type: 'string', default: '512' },
    batch: { type: 'string', default: '1' },
    runs: { type: 'string', default: '7' },
  },
});

// Number('') is 0 and Number(' 4 ') is 4: only plain digits count as an integer flag.
const batch = /^\d+$/.test(values.batch) ? Number(values.batch) : Number.NaN;
try {
  checkBatch(batch, JSON.stringify(values.batch));
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}

const proxy = await startRecordingProxy();
const browser = await launchChromium({ proxy });
try {
  const result = await runPeer({
    ensembleDir: values.ensemble,
    memberIndex: Number(values.member),
    size: Number(values.size),
    batch,
    runs: Number(values.runs),
    browser,
  });
  console.log(JSON.stringify(result, null, 2));
  if ('maxAbsDiff' in result && !(result.maxAbsDiff <= MAX_ABS_DIFF)) {
    console.error(
      `maxAbsDiff ${result.maxAbsDiff} > ${MAX_ABS_DIFF}: the ONNX export is not the same network`,
    );
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  await proxy.close();
}
