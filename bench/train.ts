// npm run bench:train: U-Net train-step and forward times for the default, bundled (when it differs) and paper-size member on every
// TF.js backend available here, and (when Debian's python3-torch is installed) the identical network in PyTorch.
// Writes bench/results/train.json. Env: BENCH_RUNS (timed runs, default 5), BENCH_ROUNDS (paired TF.js/PyTorch rounds,
// default 3), BENCH_PAPER=0 skips the paper-size net,
// BENCH_BACKENDS (default wasm,cpu).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  buildUNet,
  compileForward,
  countParameters,
  DEFAULT_UNET,
  PAPER_UNET,
  type UNetConfig,
} from '@quorum/shared';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../train/src/backend';
import { segmentationLoss } from '../train/src/training/loss';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function timeIt(f: () => Promise<void>, runs = RUNS): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  return Math.round(median(times));
}

async function measure(config: UNetConfig, runs: number) {
  const model = buildUNet(config, 1);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: segmentationLoss({ dice: 1, bce: 1 }) });
  const x = tf.randomUniform([4, 256, 256, 1], 0, 1, 'float32', 1);
  const y = tf.randomUniform([4, 256, 256, 1], 0, 1, 'float32', 2).round();
  const trainStepMs = await timeIt(async () => {
    await model.trainOnBatch(x, y);
  }, runs);
  const big = tf.randomUniform([1, 512, 512, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const forwardWith = (f: (x: tf.Tensor4D) => tf.Tensor) =>
    timeIt(async () => {
      const out = f(big);
      await out.data();
      out.dispose();
    }, runs);
  // The product's inference path (fused convolutions), and model.predict for comparison.
  const fused = compileForward(model);
  const forward512Ms = await forwardWith((x) => (fused ? fused(x) : (model.predict(x) as tf.Tensor)));
  const forward512PredictMs = await forwardWith((x) => model.predict(x) as tf.Tensor);
  for (const t of [x, y, big]) t.dispose();
  model.dispose();
  return { trainStepMs, forward512Ms, forward512PredictMs };
}

function torchPeer(config: UNetConfig, threads: number, probeOnly = false) {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  if (probeOnly) return { torch: '', threads, trainStepMs: 0, forward512Ms: 0 };
  const out = execFileSync(
    '/usr/bin/python3',
    [
      join(import.meta.dirname, 'torch_unet.py'),
      String(config.depth),
      String(config.baseFilters),
      config.batchNorm ? '1' : '0',
      String(threads),
    ],
    {
      env: {
        ...process.env,
        OPENBLAS_NUM_THREADS: String(threads),
        OMP_NUM_THREADS: String(threads),
        // Without raised malloc thresholds PyTorch spends half its time in page faults here (environment notes).
        GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=17179869184',
      },
      encoding: 'utf8',
    },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as {
    torch: string;
    threads: number;
    trainStepMs: number;
    forward512Ms: number;
  };
}

const nets: [string, UNetConfig][] = [['default', DEFAULT_UNET]];
// The bundled ensemble's member, when it is not the CLI's default architecture.
const bundledManifest = join(import.meta.dirname, '..', 'models', 'dsb2018-fluo', 'ensemble.json');
if (existsSync(bundledManifest)) {
  const bundled = (JSON.parse(readFileSync(bundledManifest, 'utf8')) as { architecture: UNetConfig })
    .architecture;
  if (JSON.stringify(bundled) !== JSON.stringify(DEFAULT_UNET)) nets.push(['bundled', bundled]);
}
if (process.env['BENCH_PAPER'] !== '0') nets.push(['paper', PAPER_UNET]);
const rows: Record<string, unknown>[] = [];
// BENCH_BACKENDS=wasm skips the pure-JS CPU backend (minutes per step: a last resort, rarely worth timing).
const backends = (process.env['BENCH_BACKENDS'] ?? 'wasm,cpu').split(',') as ('wasm' | 'cpu')[];
for (const backend of backends) {
  const sel = await selectBackend(backend);
  for (const [name, config] of nets) {
    // The pure-JS CPU backend is ~40x slower than WASM: time only the default member there, once.
    if (backend === 'cpu' && name !== 'default') continue;
    const row = { net: name, params: countParameters(config), backend: sel.name, detail: sel.detail };
    try {
      const r = await measure(config, backend === 'cpu' ? 1 : RUNS);
      rows.push({ ...row, ...r });
      console.error(
        `${name} on ${sel.name}: train step ${r.trainStepMs} ms, forward 512x512 ${r.forward512Ms} ms`,
      );
    } catch (e) {
      // A WASM abort (e.g. the 4 GB heap exhausted) is recorded, not fatal: the other rows still count.
      const error = `${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`;
      rows.push({ ...row, error, tensorBytesAtFailure: tf.memory().numBytes });
      console.error(`${name} on ${sel.name}: failed (${error})`);
    }
  }
}
// The PyTorch ratio: this machine is shared and its speed drifts by tens of percent within minutes, so TF.js WASM
// and PyTorch are timed back to back in BENCH_ROUNDS paired rounds and the ratio is the median of the rounds'.
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 3));
const peers: Record<string, unknown>[] = [];
if (torchPeer(DEFAULT_UNET, 1, true) !== null) {
  await selectBackend('wasm');
  for (const [name, config] of nets) {
    const rounds: {
      wasmTrainStepMs: number;
      torchTrainStepMs: number;
      wasmForwardMs: number;
      torchForwardMs: number;
    }[] = [];
    let t: ReturnType<typeof torchPeer> = null;
    // A WASM abort mid-round (the paper-size net fills the 4 GiB heap to its ceiling, and TF.js's own kernels do
    // not check their allocations) ends this net's rounds; the rounds before it and the error are kept.
    let error: string | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      let w: Awaited<ReturnType<typeof measure>>;
      try {
        w = await measure(config, RUNS);
      } catch (e) {
        error = `${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`;
        console.error(`${name} round ${r + 1}: failed (${error})`);
        break;
      }
      t = torchPeer(config, 1);
      if (!t) break;
      rounds.push({
        wasmTrainStepMs: w.trainStepMs,
        torchTrainStepMs: t.trainStepMs,
        wasmForwardMs: w.forward512Ms,
        torchForwardMs: t.forward512Ms,
      });
      console.error(
        `${name} round ${r + 1}: train step ${w.trainStepMs} vs PyTorch ${Math.round(t.trainStepMs)} ms (ratio ${(w.trainStepMs / t.trainStepMs).toFixed(2)})`,
      );
    }
    if (!t || rounds.length === 0) {
      if (error) peers.push({ net: name, error });
      continue;
    }
    peers.push({
      net: name,
      torch: t.torch,
      threads: t.threads,
      ...(error ? { error } : {}),
      rounds,
      wasmTrainStepRatio: median(rounds.map((r) => r.wasmTrainStepMs / r.torchTrainStepMs)),
      wasmForwardRatio: median(rounds.map((r) => r.wasmForwardMs / r.torchForwardMs)),
    });
  }
}
const result = {
  benchmark: 'train',
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  tfjs: tf.version.tfjs,
  setup: {
    trainStep: 'batch 4 of 256x256, soft Dice + BCE, Adam',
    forward: '1 of 512x512 through the fused forward the product runs (forward512PredictMs: model.predict)',
    runs: RUNS,
    statistic: 'median',
  },
  rows,
  pytorch: peers,
  note:
    peers.length > 0
      ? `PyTorch timed with 1 thread, like TF.js WASM in Node, in ${ROUNDS} rounds paired with a TF.js WASM measurement; ratios are the median over rounds.`
      : 'python3-torch not installed: no PyTorch peer.',
};
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'train.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
