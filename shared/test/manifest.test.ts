import { describe, expect, it } from 'vitest';
import { QuorumInputError } from '../src/errors';
import { manifestFiles, parseManifest, validateManifest } from '../src/manifest';
import { exampleManifest } from './helpers/manifest';

function expectSchemaError(json: unknown, subject: string | RegExp): void {
  try {
    validateManifest(json);
  } catch (e) {
    expect(e).toBeInstanceOf(QuorumInputError);
    const err = e as QuorumInputError;
    expect(err.code).toBe('schema');
    if (typeof subject === 'string') expect(err.subject).toBe(subject);
    else expect(err.subject).toMatch(subject);
    return;
  }
  throw new Error('expected validateManifest to throw');
}

describe('ensemble manifest', () => {
  it('accepts a valid manifest and returns an equal typed copy', () => {
    const m = exampleManifest();
    expect(validateManifest(JSON.parse(JSON.stringify(m)))).toEqual(m);
  });

  it('keeps a valid instance-splitting spec; without one, objects are connected components', () => {
    const m = exampleManifest();
    m.postprocess.split = { method: 'distance-watershed', h: 0.5, sigma: 1 };
    expect(validateManifest(JSON.parse(JSON.stringify(m))).postprocess.split).toEqual(m.postprocess.split);
    expect(validateManifest(exampleManifest()).postprocess).not.toHaveProperty('split');
    m.postprocess.split = { method: 'probability-watershed', seed: 0.8 };
    expect(validateManifest(JSON.parse(JSON.stringify(m))).postprocess.split).toEqual(m.postprocess.split);
    m.postprocess.split = { method: 'distance-watershed', h: 0.25, sigma: 1, core: 0.6 };
    expect(validateManifest(JSON.parse(JSON.stringify(m))).postprocess.split).toEqual(m.postprocess.split);
    m.architecture.contour = true;
    m.postprocess.split = { method: 'contour-watershed', core: 0.5 };
    expect(validateManifest(JSON.parse(JSON.stringify(m)))).toEqual(m);
  });

  it('drops unknown fields', () => {
    const m = { ...exampleManifest(), extra: 'x' };
    expect(validateManifest(m)).not.toHaveProperty('extra');
  });

  it('lists every member file in order, model.json first', () => {
    const files = manifestFiles(exampleManifest());
    expect(files.map((f) => f.path)).toEqual([
      'members/a-f0/model.json',
      'members/a-f0/weights.bin',
      'members/a-f1/model.json',
      'members/a-f1/weights.bin',
    ]);
  });

  it.each([
    ['wrong schema', (m: any) => (m.schema = 'other/2'), 'schema'],
    ['hostile name', (m: any) => (m.name = '../etc'), 'name'],
    ['huge name', (m: any) => (m.name = 'a'.repeat(10_000)), 'name'],
    ['bad version', (m: any) => (m.version = '..'), 'version'],
    ['version "latest"', (m: any) => (m.version = 'latest'), 'version'],
    ['bad created', (m: any) => (m.created = 'yesterday'), 'created'],
    ['bad sha', (m: any) => (m.members[1].files[1].sha256 = 'XYZ'), 'members[1].files[1].sha256'],
    ['negative size', (m: any) => (m.members[0].files[0].bytes = -1), 'members[0].files[0].bytes'],
    [
      'path traversal',
      (m: any) => (m.members[0].files[1].path = 'members/../../x.bin'),
      'members[0].files[1].path',
    ],
    ['absolute path', (m: any) => (m.members[0].files[1].path = '/etc/passwd'), 'members[0].files[1].path'],
    ['model.json not first', (m: any) => m.members[0].files.reverse(), 'members[0].files[0].path'],
    ['tile not aligned', (m: any) => (m.tiling.tile = 66), 'tiling.tile'],
    ['halo too big', (m: any) => (m.tiling.halo = 32), 'tiling.halo'],
    ['unknown rule', (m: any) => (m.aggregation.rule = 'max'), 'aggregation.rule'],
    ['threshold above 1', (m: any) => (m.aggregation.threshold = 2), 'aggregation.threshold'],
    [
      'unknown split method',
      (m: any) => (m.postprocess.split = { method: 'magic', h: 1, sigma: 0 }),
      'postprocess.split.method',
    ],
    [
      'split h of 0',
      (m: any) => (m.postprocess.split = { method: 'distance-watershed', h: 0, sigma: 0 }),
      'postprocess.split.h',
    ],
    [
      'negative split sigma',
      (m: any) => (m.postprocess.split = { method: 'distance-watershed', h: 1, sigma: -1 }),
      'postprocess.split.sigma',
    ],
    [
      'probability split seed of 1',
      (m: any) => (m.postprocess.split = { method: 'probability-watershed', seed: 1 }),
      'postprocess.split.seed',
    ],
    [
      'contour split without a contour output',
      (m: any) => (m.postprocess.split = { method: 'contour-watershed', core: 0.5 }),
      'postprocess.split.method',
    ],
    [
      'contour split core of 1',
      (m: any) => {
        m.architecture.contour = true;
        m.postprocess.split = { method: 'contour-watershed', core: 1 };
      },
      'postprocess.split.core',
    ],
    ['contour not a boolean', (m: any) => (m.architecture.contour = 'yes'), 'architecture.contour'],
    ['weight for no member', (m: any) => (m.aggregation.weights = { ghost: 1 }), 'aggregation.weights.ghost'],
    ['duplicate member', (m: any) => (m.members[1].id = 'a-f0'), 'members[1].id'],
    ['low >= high', (m: any) => (m.input.normalization.high = 1), 'input.normalization.high'],
    ['NaN score', (m: any) => (m.members[0].validationDice = Number.NaN), 'members[0].validationDice'],
    [
      'id in two folds',
      (m: any) => (m.partition.modes[0].folds[1] = ['img0']),
      /partition\.modes\[0\]\.folds\[1\]/,
    ],
    ['no members', (m: any) => (m.members = []), 'members'],
    ['missing architecture', (m: any) => delete m.architecture, 'architecture'],
  ])('rejects %s, naming the field', (_label, mutate, subject) => {
    const m = structuredClone(exampleManifest());
    mutate(m);
    expectSchemaError(m, subject);
  });

  it('names the source file on invalid JSON and on schema errors', () => {
    expect(() => parseManifest('{', 'models/x/ensemble.json')).toThrow(
      /models\/x\/ensemble\.json: is not valid JSON/,
    );
    const m: any = exampleManifest();
    m.tiling.blend = 'hard';
    expect(() => parseManifest(JSON.stringify(m), 'e.json')).toThrow(
      /e\.json: tiling\.blend: must be one of/,
    );
  });
});
