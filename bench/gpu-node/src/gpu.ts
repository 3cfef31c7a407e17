import { createRequire } from 'node:module';

/**
 * WebGPU for Node from a dawn.node binary loaded at run time (never bundled), set up the way the `webgpu` npm
 * package (0.6.2) does it in its index.js: `require(dawn.node)` gives `{ create, globals }`; the package patches
 * GPUDevice so that destroy() unmaps the device's buffers (dawn.node leaves them mapped). We copy that patch,
 * put the WebGPU globals (GPUBufferUsage, GPUMapMode, ... which tfjs-backend-webgpu reads) on globalThis and set
 * `globalThis.navigator = { gpu: create(flags) }`. This must run before @tensorflow/tfjs-backend-webgpu is
 * evaluated: the backend only registers itself when navigator.gpu exists at import time.
 */

type Any = any;

export interface DawnModule {
  create(flags: string[]): Any;
  globals: Record<string, unknown>;
}

const kPatched = Symbol.for('webgpu.deviceDestroyUnmapsBuffers');

function patchDeviceDestroy(globals: Record<string, Any>): void {
  const deviceBuffers = new WeakMap<object, Set<WeakRef<Any>>>();
  const collected = new FinalizationRegistry(
    ({ buffers, ref }: { buffers: Set<WeakRef<Any>>; ref: WeakRef<Any> }) => buffers.delete(ref),
  );
  const GPUDevice = globals.GPUDevice;
  if (!GPUDevice?.prototype || GPUDevice.prototype[kPatched]) return;
  const { createBuffer, destroy } = GPUDevice.prototype;
  GPUDevice.prototype.createBuffer = function (this: object, ...args: unknown[]) {
    const buffer = createBuffer.apply(this, args);
    let buffers = deviceBuffers.get(this);
    if (!buffers) {
      buffers = new Set();
      deviceBuffers.set(this, buffers);
    }
    const ref = new WeakRef(buffer);
    buffers.add(ref);
    collected.register(buffer, { buffers, ref });
    return buffer;
  };
  GPUDevice.prototype.destroy = function (this: object, ...args: unknown[]) {
    const buffers = deviceBuffers.get(this);
    for (const ref of buffers ?? []) {
      const b = ref.deref();
      if (b?.mapState === 'mapped') {
        try {
          b.unmap();
        } catch {}
      }
    }
    buffers?.clear();
    return destroy.apply(this, args);
  };
  GPUDevice.prototype[kPatched] = true;
}

let dawn: DawnModule | undefined;

export function loadDawn(path: string): DawnModule {
  if (dawn) return dawn;
  const mod = createRequire(import.meta.url)(path) as DawnModule;
  patchDeviceDestroy(mod.globals as Record<string, Any>);
  Object.assign(globalThis, mod.globals);
  dawn = mod;
  return mod;
}

export function installNavigatorGpu(gpu: Any): void {
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu, userAgent: `Node.js ${process.version} (dawn.node)` },
    configurable: true,
    writable: true,
  });
}

const LIMIT_KEYS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
];

/** Everything an adapter tells about itself, as plain JSON. */
export function describeAdapter(adapter: Any): Record<string, unknown> {
  const info = adapter.info ?? {};
  const limits: Record<string, number> = {};
  for (const k of LIMIT_KEYS) {
    const v = adapter.limits?.[k];
    if (typeof v === 'number') limits[k] = v;
  }
  let features: string[] = [];
  try {
    features = [...adapter.features].sort();
  } catch {}
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter,
    subgroupMinSize: info.subgroupMinSize,
    subgroupMaxSize: info.subgroupMaxSize,
    limits,
    features,
  };
}
