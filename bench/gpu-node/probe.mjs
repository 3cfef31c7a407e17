// Quick WebGPU probe through dawn.node, independent of TF.js: lists the adapter each flag set gives and runs one
// tiny compute shader on the first one found. Usage: node probe.mjs DAWN_NODE [flags-set ...]
// where a flag set is a comma-separated list of dawn.node create() flags ("" = none), e.g. "backend=vulkan".
// Prints one JSON object; exit code 0 when an adapter was found and the compute test passed, 3 otherwise.
import { createRequire } from 'node:module';

const [dawnPath, ...sets] = process.argv.slice(2);
const out = { dawnPath, attempts: [], compute: null };
let dawn;
try {
  dawn = createRequire(import.meta.url)(dawnPath);
  Object.assign(globalThis, dawn.globals);
} catch (e) {
  out.loadError = String(e?.message ?? e);
  console.log(JSON.stringify(out, null, 2));
  process.exit(3);
}

function describe(adapter) {
  const i = adapter.info ?? {};
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    isFallbackAdapter: i.isFallbackAdapter ?? adapter.isFallbackAdapter,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

let found = null;
for (const s of sets.length ? sets : ['']) {
  const flags = s ? s.split(',') : [];
  try {
    const gpu = dawn.create(flags);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    out.attempts.push({ flags, adapter: adapter ? describe(adapter) : null });
    if (adapter && !found) found = adapter;
  } catch (e) {
    out.attempts.push({ flags, error: String(e?.message ?? e) });
  }
}

if (found) {
  try {
    const device = await found.requestDevice();
    const n = 1024;
    const data = Float32Array.from({ length: n }, (_, i) => i);
    const buf = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(buf, 0, data);
    const read = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const module = device.createShaderModule({
      code: '@group(0) @binding(0) var<storage, read_write> v: array<f32>;\n@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) { v[id.x] = v[id.x] * 2.0 + 1.0; }',
    });
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: buf } }],
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(n / 64);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
    const t = performance.now();
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const r = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    let bad = 0;
    for (let i = 0; i < n; i++) if (r[i] !== i * 2 + 1) bad++;
    out.compute = { ok: bad === 0, wrong: bad, ms: Math.round((performance.now() - t) * 100) / 100 };
    device.destroy();
  } catch (e) {
    out.compute = { ok: false, error: String(e?.message ?? e) };
  }
}
console.log(JSON.stringify(out, null, 2));
process.exit(found && out.compute?.ok ? 0 : 3);
