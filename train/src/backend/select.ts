import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { FAST_WASM_KERNELS, registerFastWasmKernels, winogradStatus } from '@quorum/shared/wasm-kernels';
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { enableRelaxedSimd } from './relaxed-simd';
import { wasmBinaryDir } from './wasm-paths.js';

export const BACKEND_REQUESTS = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];
type BackendName = Exclude<BackendRequest, 'auto'>;

export interface BackendSelection {
  /** The backend now active: one of the request names other than 'auto'. */
  name: string;
  /** What it runs on, for logs and reports. */
  detail: string;
  /** Backends tried before it on 'auto', each as 'name: why it was skipped'. */
  fallbacks: string[];
}

/** An explicitly requested backend that cannot run here; the message says why and how to get it. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    readonly reason: string,
    readonly hint: string,
  ) {
    super(`Backend '${backend}' is unavailable: ${reason}. ${hint}`);
    this.name = 'BackendUnavailableError';
  }
}

/** Why a candidate was skipped; becomes a fallback entry on 'auto' or a BackendUnavailableError. */
class Skip extends Error {}

const INSTALL_HINT: Record<BackendName, string> = {
  'tfjs-node-gpu':
    `Install it with \`npm install @tensorflow/tfjs-node-gpu@${tf.version_core}\` on Linux with an NVIDIA GPU, ` +
    'CUDA 11.8 and cuDNN 8 (its install script downloads libtensorflow, so it needs internet access)',
  'tfjs-node':
    `Install it with \`npm install @tensorflow/tfjs-node@${tf.version_core}\` (its install script downloads ` +
    'libtensorflow, so it needs internet access)',
  wasm: 'Reinstall the dependencies (`npm install`): @quorum/train depends on @tensorflow/tfjs-backend-wasm',
  cpu: 'Reinstall the dependencies (`npm install`): the CPU backend ships with @tensorflow/tfjs',
};

const requireHere = createRequire(import.meta.url);

/**
 * Imports an optional native package. The specifier is a variable so that TypeScript and bundlers do not
 * require the package to exist; it is resolved first so that "not installed" is told apart from a load error.
 */
async function importOptional(specifier: string): Promise<void> {
  try {
    requireHere.resolve(specifier);
  } catch {
    throw new Skip('not installed');
  }
  try {
    await import(specifier);
  } catch (error) {
    throw new Skip(`failed to load (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Whether the NVIDIA driver sees a GPU (nvidia-smi ships with the driver on Linux and Windows). */
async function nvidiaGpuVisible(): Promise<boolean> {
  try {
    const { stdout } = await promisify(execFile)('nvidia-smi', ['-L'], { timeout: 10_000 });
    return /^GPU \d+/m.test(stdout);
  } catch {
    return false;
  }
}

async function activate(backendName: string): Promise<void> {
  if (!(await tf.setBackend(backendName))) throw new Skip(`backend '${backendName}' failed to initialise`);
  await tf.ready();
}

/** Sets up one backend and returns its detail line, or throws Skip. */
const ACTIVATE: Record<BackendName, () => Promise<string>> = {
  async 'tfjs-node-gpu'() {
    try {
      requireHere.resolve('@tensorflow/tfjs-node-gpu');
    } catch {
      throw new Skip('not installed');
    }
    // Checked before importing: without a GPU the package silently runs libtensorflow on the CPU.
    if (!(await nvidiaGpuVisible()))
      throw new Skip('installed, but no NVIDIA GPU is visible (nvidia-smi -L)');
    await importOptional('@tensorflow/tfjs-node-gpu');
    await activate('tensorflow');
    return 'libtensorflow with CUDA (@tensorflow/tfjs-node-gpu)';
  },
  async 'tfjs-node'() {
    await importOptional('@tensorflow/tfjs-node');
    await activate('tensorflow');
    return 'libtensorflow on the CPU (@tensorflow/tfjs-node)';
  },
  async wasm() {
    enableRelaxedSimd();
    registerFastWasmKernels();
    // setWasmPaths only works before the first initialisation; later selections reuse the backend.
    if (tf.findBackend('wasm') === null) setWasmPaths(wasmBinaryDir());
    await activate('wasm');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return (
      `tfjs-backend-wasm (XNNPACK, SIMD ${simd ? 'on' : 'off'}, ${getThreadsCount()} thread(s)), ` +
      `with Quorum's kernels: ${FAST_WASM_KERNELS.join(', ')}; ${winogradStatus(tf.backend() as BackendWasm)}`
    );
  },
  async cpu() {
    await activate('cpu');
    return 'tfjs-backend-cpu (plain JavaScript, about 40x slower than WASM: tests and last resort only)';
  },
};

const AUTO_ORDER: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

function isBackendRequest(value: string): value is BackendRequest {
  return (BACKEND_REQUESTS as readonly string[]).includes(value);
}

/**
 * Activates the requested TF.js backend. 'auto' takes the first that works of tfjs-node-gpu (only with a
 * visible GPU), tfjs-node, WASM (with Quorum's training kernels registered) and CPU, and records why each
 * earlier one was skipped. An explicit request that cannot be met throws BackendUnavailableError.
 */
export async function selectBackend(request: BackendRequest): Promise<BackendSelection> {
  if (!isBackendRequest(request)) {
    throw new Error(`Unknown backend '${String(request)}': expected one of ${BACKEND_REQUESTS.join(', ')}`);
  }
  const candidates = request === 'auto' ? AUTO_ORDER : [request];
  const fallbacks: string[] = [];
  for (const name of candidates) {
    try {
      const detail = await ACTIVATE[name]();
      return { name, detail, fallbacks };
    } catch (error) {
      if (!(error instanceof Skip)) throw error;
      if (request !== 'auto') throw new BackendUnavailableError(name, error.message, INSTALL_HINT[name]);
      fallbacks.push(`${name}: ${error.message}`);
    }
  }
  throw new Error(`No TF.js backend could be initialised (${fallbacks.join('; ')})`);
}
