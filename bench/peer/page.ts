import { compileForward, loadMember } from '@quorum/shared';
import { registerFastWasmKernels } from '@quorum/shared/wasm-kernels';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
// The three WASM builds, as client/src/engine/backend.ts maps them (setWasmPaths insists on all three). The page is
// not cross-origin isolated, so TF.js picks the SIMD build; setUpTfjs checks that it did, because a threaded
// build must not share the page with ORT (its pthread pool would make the comparison not 1 thread against 1).
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as ort from 'onnxruntime-web/wasm';
import { blobImage } from './input';
import { PEER_GLOBAL, type PeerPageEntry, type PeerPageRequest, type PeerPageResult } from './protocol';

/**
 * The browser side of the speed peer: one member in TF.js WASM (SIMD, 1 thread, Quorum's kernels, as the client
 * runs it) and its ONNX export in ONNX Runtime Web WASM (1 thread), timed on the same input, alternately, in the
 * same page, so both see the same machine load.
 */

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function setUpTfjs(): Promise<string> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
  });
  setThreadsCount(1);
  // The client registers these too (client/src/engine/backend.ts): the decoder's transposed conv and concat.
  registerFastWasmKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('TF.js WASM backend failed to initialise');
  await tf.ready();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  const threaded = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
  const threads = getThreadsCount();
  if (threaded || threads !== 1) throw new Error(`TF.js WASM picked a threaded build (${threads} threads)`);
  return `tfjs-backend-wasm ${version_wasm} (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread, Quorum kernels)`;
}

async function setUpOrt(
  onnx: Uint8Array,
  wasmPrefix: string,
): Promise<{ session: ort.InferenceSession; detail: string }> {
  ort.env.wasm.numThreads = 1;
  // On the page's thread like TF.js (the proxy worker would add a postMessage hop to every run).
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = wasmPrefix;
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  // ORT ships only SIMD builds of its WASM runtime since 1.19; numThreads is what it settled on (1 when asked).
  const threads = ort.env.wasm.numThreads ?? 1;
  if (threads !== 1) throw new Error(`ORT runs ${threads} threads, expected 1`);
  return { session, detail: `onnxruntime-web ${ort.env.versions.web} wasm (SIMD, ${threads} thread)` };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`output sizes differ: TF.js ${a.length}, ORT ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    // NaN must not be swallowed by Math.max's comparison order: report it.
    if (!(d <= max)) max = Number.isNaN(d) ? Number.NaN : d;
    if (Number.isNaN(max)) break;
  }
  return max;
}

async function runPeerPage(request: PeerPageRequest): Promise<PeerPageResult> {
  const { size, batch, runs, warmup } = request;
  const [modelJson, shards, onnx] = await Promise.all([
    fetch(request.modelJsonUrl).then((r) => r.text()),
    Promise.all(request.shardUrls.map(fetchBytes)),
    fetchBytes(request.onnxUrl),
  ]);
  const tfjsDetail = await setUpTfjs();
  const model = await loadMember(modelJson, shards);
  // The member as the product runs it (tfEnsembleRunner): fused where the graph allows, as ORT fuses its graph.
  const forward = compileForward(model) ?? ((x: tf.Tensor4D) => model.predict(x) as tf.Tensor4D);
  const { session, detail: ortDetail } = await setUpOrt(onnx, request.ortWasmPrefix);
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;

  // `batch` different images (seeds 1..batch), as the engine packs that many different tiles per member call.
  // One channel: NHWC [B, S, S, 1] and NCHW [B, 1, S, S] are the same bytes.
  const pixels = size * size;
  const input = new Float32Array(batch * pixels);
  for (let b = 0; b < batch; b++) input.set(blobImage(size, b + 1), b * pixels);

  // Both timings cover input upload, the forward and reading the output back into JS, each runtime's own way.
  const tfjsOnce = async (): Promise<{ ms: number; out: Float32Array }> => {
    const t0 = performance.now();
    const x = tf.tensor4d(input, [batch, size, size, 1]);
    const y = forward(x);
    const out = (await y.data()) as Float32Array;
    const ms = performance.now() - t0;
    x.dispose();
    y.dispose();
    return { ms, out };
  };
  const ortOnce = async (): Promise<{ ms: number; out: Float32Array }> => {
    const t0 = performance.now();
    const feeds = { [inputName]: new ort.Tensor('float32', input, [batch, 1, size, size]) };
    const results = await session.run(feeds);
    const y = results[outputName]!;
    const out = (await y.getData()) as Float32Array;
    const ms = performance.now() - t0;
    y.dispose();
    return { ms, out };
  };

  for (let i = 0; i < warmup; i++) {
    await tfjsOnce();
    await ortOnce();
  }
  const tfjsTimes: number[] = [];
  const ortTimes: number[] = [];
  let tfjsOut: Float32Array = new Float32Array(0);
  let ortOut: Float32Array = new Float32Array(0);
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always runs right after the other's garbage or cache state.
    const order = i % 2 === 0 ? [tfjsOnce, ortOnce] : [ortOnce, tfjsOnce];
    for (const once of order) {
      const { ms, out } = await once();
      if (once === tfjsOnce) {
        tfjsTimes.push(ms);
        tfjsOut = out;
      } else {
        ortTimes.push(ms);
        ortOut = out;
      }
    }
  }
  await session.release();
  model.dispose();
  // Only a one-channel output has the same bytes in TF.js's NHWC and ORT's NCHW; a batch that came back short
  // (or a contour channel) would otherwise be compared in the wrong layout.
  if (tfjsOut.length !== batch * pixels) {
    throw new Error(`TF.js returned ${tfjsOut.length} values for ${batch} x ${size}x${size} x 1 channel`);
  }
  return {
    tfjsTimes,
    ortTimes,
    maxAbsDiff: maxAbsDiff(tfjsOut, ortOut),
    tfjsDetail,
    ortDetail,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
  };
}

const entry: PeerPageEntry = runPeerPage;
Object.assign(globalThis, { [PEER_GLOBAL]: entry });
