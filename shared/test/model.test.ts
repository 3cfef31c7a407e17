import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildUNet,
  countParameters,
  loadMember,
  modelArtifacts,
  PAPER_UNET,
  shardPaths,
  type UNetConfig,
} from '../src/model';
import { serializeMember } from '../src/quantize';

const tiny: UNetConfig = {
  depth: 2,
  baseFilters: 4,
  batchNorm: true,
  upsampling: 'transpose',
  inputChannels: 1,
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('U-Net', () => {
  it("expresses the paper's configuration: 32..512 filters with BatchNorm", () => {
    const m = buildUNet(PAPER_UNET);
    const convFilters = m.layers
      .filter((l) => l.getClassName() === 'Conv2D')
      .map((l) => (l.getConfig() as { filters: number }).filters);
    expect(Math.min(...convFilters.filter((f) => f > 1))).toBe(32);
    expect(Math.max(...convFilters)).toBe(512);
    expect(m.layers.filter((l) => l.getClassName() === 'BatchNormalization')).toHaveLength(18);
    expect(m.layers.filter((l) => l.getClassName() === 'Conv2DTranspose')).toHaveLength(4);
    expect(m.layers.filter((l) => l.getClassName() === 'MaxPooling2D')).toHaveLength(4);
    expect(m.countParams()).toBe(countParameters(PAPER_UNET));
    m.dispose();
  });

  it.each([
    tiny,
    { ...tiny, batchNorm: false },
    { ...tiny, upsampling: 'nearest' as const, depth: 3 },
    { ...tiny, contour: true },
  ])('maps any multiple-of-2^depth input to a same-size probability map (%o)', (config) => {
    const m = buildUNet(config, 3);
    expect(m.countParams()).toBe(countParameters(config));
    const out = tf.tidy(() => m.predict(tf.randomUniform([2, 24, 40, 1], 0, 1, 'float32', 1)) as tf.Tensor);
    expect(out.shape).toEqual([2, 24, 40, config.contour ? 2 : 1]);
    const v = out.dataSync();
    expect(v.every((p) => p >= 0 && p <= 1)).toBe(true);
    out.dispose();
    m.dispose();
  });

  it('initialises reproducibly from a seed', () => {
    const a = buildUNet(tiny, 5);
    const b = buildUNet(tiny, 5);
    const c = buildUNet(tiny, 6);
    const w = (m: tf.LayersModel) => m.getWeights()[0]!.dataSync();
    expect(Array.from(w(a))).toEqual(Array.from(w(b)));
    expect(Array.from(w(a))).not.toEqual(Array.from(w(c)));
    for (const m of [a, b, c]) m.dispose();
  });

  it('rejects an invalid configuration naming the field', () => {
    expect(() => buildUNet({ ...tiny, depth: 0 })).toThrow(/architecture\.depth/);
  });
});

describe('member export and reload', () => {
  it.each([
    ['float32', 0],
    ['float16', 2e-3],
    ['uint8', 3e-2],
  ] as const)(
    'reloads %s weights through tf.loadLayersModel with bounded output change',
    async (dtype, tol) => {
      const m = buildUNet(tiny, 9);
      const input = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 2);
      const before = (m.predict(input) as tf.Tensor).dataSync();
      const files = serializeMember(await modelArtifacts(m), dtype, 4096);
      expect(shardPaths(files.modelJson)).toEqual(files.shards.map((s) => s.name));
      expect(files.shards.length).toBeGreaterThan(1);
      const loaded = await loadMember(
        files.modelJson,
        files.shards.map((s) => s.data),
      );
      const after = (loaded.predict(input) as tf.Tensor).dataSync();
      let maxDiff = 0;
      for (let i = 0; i < before.length; i++) maxDiff = Math.max(maxDiff, Math.abs(before[i]! - after[i]!));
      if (dtype === 'float32') expect(maxDiff).toBe(0);
      else expect(maxDiff).toBeLessThanOrEqual(tol);
      for (const t of [m, loaded]) t.dispose();
      input.dispose();
    },
  );

  it('refuses missing or truncated shards with a clear error', async () => {
    const m = buildUNet(tiny, 1);
    const files = serializeMember(await modelArtifacts(m), 'float32');
    await expect(loadMember(files.modelJson, [], 'members/x/model.json')).rejects.toThrow(
      /members\/x\/model\.json: lists 1 weight shard\(s\) but 0/,
    );
    await expect(loadMember(files.modelJson, [files.shards[0]!.data.slice(0, 100)])).rejects.toThrow(
      /weights are 100 bytes/,
    );
    await expect(loadMember('{"x":1}', [])).rejects.toThrow(/not a TF.js layers model.json/);
    m.dispose();
  });
});
