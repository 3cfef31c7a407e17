import type { EnsembleManifest, FileRef } from '../../src/manifest';

/** A small, schema-valid manifest for tests; `files` lets a test point members at real blobs. */
export function exampleManifest(files?: { [memberId: string]: FileRef[] }): EnsembleManifest {
  const sha = (c: string) => c.repeat(64);
  const memberFiles = files ?? {
    'a-f0': [
      { path: 'members/a-f0/model.json', bytes: 10, sha256: sha('1') },
      { path: 'members/a-f0/weights.bin', bytes: 20, sha256: sha('2') },
    ],
    'a-f1': [
      { path: 'members/a-f1/model.json', bytes: 10, sha256: sha('3') },
      { path: 'members/a-f1/weights.bin', bytes: 20, sha256: sha('4') },
    ],
  };
  return {
    schema: 'quorum.ensemble/1',
    name: 'test-ensemble',
    version: '1.0.0',
    created: '2026-11-27T10:00:00.000Z',
    format: 'tfjs-layers',
    architecture: { depth: 2, baseFilters: 4, batchNorm: true, upsampling: 'transpose', inputChannels: 1 },
    input: { channels: 1, normalization: { kind: 'percentile', low: 1, high: 99.8, clip: true } },
    tiling: { tile: 64, halo: 8, blend: 'gaussian' },
    members: Object.entries(memberFiles).map(([id, f], fold) => ({
      id,
      mode: 'a',
      fold,
      trainingIdsHash: sha('a'),
      trainingCount: 1,
      validationIds: [`img${fold}`],
      validationDice: 0.8,
      epochs: 3,
      files: f,
    })),
    partition: {
      version: 1,
      seed: 1,
      requestedFolds: 2,
      modeSource: { kind: 'column', column: 'acquisition' },
      modes: [{ name: 'a', folds: Object.keys(memberFiles).map((_, i) => [`img${i}`]) }],
    },
    aggregation: { rule: 'mean', threshold: 0.5 },
    postprocess: { fillHoles: true, minArea: 10 },
    quantization: { dtype: 'uint8', variants: [{ dtype: 'uint8', bytes: 40, diceDelta: -0.001 }] },
    metrics: null,
  };
}
