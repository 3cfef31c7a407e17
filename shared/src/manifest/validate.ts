import { QuorumInputError } from '../errors';
import type { ModeSource, Partition } from '../folds/partition';
import { type UNetConfig, UPSAMPLING_KINDS } from '../model/config';
import { SPLIT_METHODS, type SplitSpec } from '../postprocess/split-spec';
import { arr, bool, type Json, num, obj, oneOf, optional, schemaError, str } from './check';
import {
  AGGREGATION_RULES,
  type EnsembleManifest,
  type FileRef,
  MANIFEST_SCHEMA,
  type ManifestMember,
  type SplitMetrics,
  WEIGHT_DTYPES,
} from './schema';

/** Names and versions travel in URLs and R2 keys: a strict alphabet, no dots at the start, bounded length. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** `latest` is not a version: it names the edge's moving pointer (GET /v1/ensembles/:name/latest). */
export const VERSION_PATTERN = /^(?!latest$)[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** Relative file paths inside an ensemble: no `..`, no absolute paths, no backslashes. */
const PATH_PATTERN = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;
const MEMBER_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

export const MAX_MEMBERS = 64;
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

export function validateFileRef(v: Json, path: string): FileRef {
  const o = obj(v, path);
  return {
    path: str(o['path'], `${path}.path`, { pattern: PATH_PATTERN, max: 256 }),
    bytes: num(o['bytes'], `${path}.bytes`, { int: true, min: 0, max: MAX_FILE_BYTES }),
    sha256: str(o['sha256'], `${path}.sha256`, { pattern: SHA256_PATTERN }),
  };
}

function validateArchitecture(v: Json, path: string): UNetConfig {
  const o = obj(v, path);
  const channels = num(o['inputChannels'], `${path}.inputChannels`, { int: true, min: 1, max: 1 });
  return {
    depth: num(o['depth'], `${path}.depth`, { int: true, min: 1, max: 6 }),
    baseFilters: num(o['baseFilters'], `${path}.baseFilters`, { int: true, min: 1, max: 128 }),
    batchNorm: bool(o['batchNorm'], `${path}.batchNorm`),
    upsampling: oneOf(o['upsampling'], `${path}.upsampling`, UPSAMPLING_KINDS),
    inputChannels: channels as 1,
    ...(o['contour'] !== undefined ? { contour: bool(o['contour'], `${path}.contour`) } : {}),
  };
}

function validateSplit(v: Json): SplitSpec {
  const o = obj(v, 'postprocess.split');
  const method = oneOf(o['method'], 'postprocess.split.method', SPLIT_METHODS);
  if (method === 'probability-watershed') {
    const seed = num(o['seed'], 'postprocess.split.seed', { min: 0.01, max: 0.99 });
    return { method, seed };
  }
  if (method === 'contour-watershed') {
    return { method, core: num(o['core'], 'postprocess.split.core', { min: 0.01, max: 0.99 }) };
  }
  return {
    method,
    h: num(o['h'], 'postprocess.split.h', { min: 0.01, max: 100 }),
    sigma: num(o['sigma'], 'postprocess.split.sigma', { min: 0, max: 20 }),
    ...(o['core'] !== undefined
      ? { core: num(o['core'], 'postprocess.split.core', { min: 0.01, max: 0.99 }) }
      : {}),
  };
}

function validateModeSource(v: Json, path: string): ModeSource {
  const o = obj(v, path);
  const kind = oneOf(o['kind'], `${path}.kind`, ['column', 'discovered', 'single'] as const);
  if (kind === 'column') return { kind, column: str(o['column'], `${path}.column`, { max: 128 }) };
  if (kind === 'discovered') {
    return {
      kind,
      modes: num(o['modes'], `${path}.modes`, { int: true, min: 1 }),
      features: arr(o['features'], `${path}.features`).map((f, i) => str(f, `${path}.features[${i}]`)),
    };
  }
  return { kind };
}

export function validatePartition(v: Json, path = 'partition'): Partition {
  const o = obj(v, path);
  if (o['version'] !== 1) schemaError(`${path}.version`, 'must be 1');
  const seen = new Set<string>();
  const modes = arr(o['modes'], `${path}.modes`, { min: 1 }).map((m, i) => {
    const mp = `${path}.modes[${i}]`;
    const mo = obj(m, mp);
    const folds = arr(mo['folds'], `${mp}.folds`, { min: 1 }).map((f, j) =>
      arr(f, `${mp}.folds[${j}]`, { min: 1 }).map((id, k) => {
        const s = str(id, `${mp}.folds[${j}][${k}]`, { max: 256 });
        if (seen.has(s)) schemaError(`${mp}.folds[${j}][${k}]`, `image id "${s}" appears in two folds`);
        seen.add(s);
        return s;
      }),
    );
    return { name: str(mo['name'], `${mp}.name`, { max: 128 }), folds };
  });
  return {
    version: 1,
    seed: num(o['seed'], `${path}.seed`, { int: true }),
    requestedFolds: num(o['requestedFolds'], `${path}.requestedFolds`, { int: true, min: 1 }),
    modeSource: validateModeSource(o['modeSource'], `${path}.modeSource`),
    modes,
  };
}

function validateMember(v: Json, path: string): ManifestMember {
  const o = obj(v, path);
  const files = arr(o['files'], `${path}.files`, { min: 2, max: 256 }).map((f, i) =>
    validateFileRef(f, `${path}.files[${i}]`),
  );
  if (!files[0]!.path.endsWith('model.json')) schemaError(`${path}.files[0].path`, 'must be the model.json');
  return {
    id: str(o['id'], `${path}.id`, { pattern: MEMBER_ID_PATTERN }),
    mode: str(o['mode'], `${path}.mode`, { max: 128 }),
    fold: num(o['fold'], `${path}.fold`, { int: true, min: 0 }),
    trainingIdsHash: str(o['trainingIdsHash'], `${path}.trainingIdsHash`, { pattern: SHA256_PATTERN }),
    trainingCount: num(o['trainingCount'], `${path}.trainingCount`, { int: true, min: 1 }),
    validationIds: arr(o['validationIds'], `${path}.validationIds`, { min: 1 }).map((s, i) =>
      str(s, `${path}.validationIds[${i}]`, { max: 256 }),
    ),
    validationDice: num(o['validationDice'], `${path}.validationDice`, { min: 0, max: 1 }),
    epochs: num(o['epochs'], `${path}.epochs`, { int: true, min: 0 }),
    files,
  };
}

function validateMetrics(v: Json, path: string): SplitMetrics {
  const o = obj(v, path);
  const unit = (k: string) => num(o[k], `${path}.${k}`, { min: 0, max: 1 });
  return {
    split: str(o['split'], `${path}.split`, { max: 64 }),
    images: num(o['images'], `${path}.images`, { int: true, min: 0 }),
    dice: unit('dice'),
    iou: unit('iou'),
    objectF1: unit('objectF1'),
    prAuc: unit('prAuc'),
  };
}

/**
 * Validate an untrusted manifest (from disk, the network or a publish request). Returns a typed copy holding only
 * known fields; throws QuorumInputError whose subject is the offending field's path.
 */
export function validateManifest(json: Json): EnsembleManifest {
  const o = obj(json, 'manifest');
  if (o['schema'] !== MANIFEST_SCHEMA) {
    schemaError(
      'schema',
      `must be "${MANIFEST_SCHEMA}" (got ${JSON.stringify(o['schema'])}); is this a Quorum ensemble.json?`,
    );
  }
  const created = str(o['created'], 'created', { max: 64 });
  if (Number.isNaN(Date.parse(created))) schemaError('created', `"${created}" is not an ISO 8601 time`);
  const architecture = validateArchitecture(o['architecture'], 'architecture');
  const input = obj(o['input'], 'input');
  const norm = obj(input['normalization'], 'input.normalization');
  const low = num(norm['low'], 'input.normalization.low', { min: 0, max: 100 });
  const high = num(norm['high'], 'input.normalization.high', { min: 0, max: 100 });
  if (high <= low) schemaError('input.normalization.high', `must be above low (${low})`);
  const tiling = obj(o['tiling'], 'tiling');
  const tile = num(tiling['tile'], 'tiling.tile', { int: true, min: 16, max: 4096 });
  if (tile % 2 ** architecture.depth !== 0) {
    schemaError('tiling.tile', `${tile} is not a multiple of 2^depth = ${2 ** architecture.depth}`);
  }
  const halo = num(tiling['halo'], 'tiling.halo', { int: true, min: 0 });
  if (2 * halo >= tile) schemaError('tiling.halo', `2 x halo must be below the tile size ${tile}`);
  const members = arr(o['members'], 'members', { min: 1, max: MAX_MEMBERS }).map((m, i) =>
    validateMember(m, `members[${i}]`),
  );
  const ids = new Set<string>();
  members.forEach((m, i) => {
    if (ids.has(m.id)) schemaError(`members[${i}].id`, `duplicate member id "${m.id}"`);
    ids.add(m.id);
  });
  const agg = obj(o['aggregation'], 'aggregation');
  const weights = optional(agg['weights'], (w) => {
    const wo = obj(w, 'aggregation.weights');
    const out: Record<string, number> = {};
    for (const [k, val] of Object.entries(wo)) {
      if (!ids.has(k)) schemaError(`aggregation.weights.${k}`, 'names no member');
      out[k] = num(val, `aggregation.weights.${k}`, { min: 0 });
    }
    return out;
  });
  const post = obj(o['postprocess'], 'postprocess');
  const quant = obj(o['quantization'], 'quantization');
  const manifest: EnsembleManifest = {
    schema: MANIFEST_SCHEMA,
    name: str(o['name'], 'name', { pattern: NAME_PATTERN }),
    version: str(o['version'], 'version', { pattern: VERSION_PATTERN }),
    created,
    format: oneOf(o['format'], 'format', ['tfjs-layers'] as const),
    architecture,
    input: {
      channels: num(input['channels'], 'input.channels', { int: true, min: 1, max: 1 }) as 1,
      normalization: {
        kind: oneOf(norm['kind'], 'input.normalization.kind', ['percentile'] as const),
        low,
        high,
        clip: bool(norm['clip'], 'input.normalization.clip'),
      },
    },
    tiling: { tile, halo, blend: oneOf(tiling['blend'], 'tiling.blend', ['gaussian', 'taper'] as const) },
    members,
    partition: validatePartition(o['partition']),
    aggregation: {
      rule: oneOf(agg['rule'], 'aggregation.rule', AGGREGATION_RULES),
      threshold: num(agg['threshold'], 'aggregation.threshold', { min: 0, max: 1 }),
      ...(weights ? { weights } : {}),
    },
    postprocess: {
      fillHoles: bool(post['fillHoles'], 'postprocess.fillHoles'),
      minArea: num(post['minArea'], 'postprocess.minArea', { int: true, min: 0 }),
      ...(post['split'] !== undefined ? { split: validateSplit(post['split']) } : {}),
    },
    quantization: {
      dtype: oneOf(quant['dtype'], 'quantization.dtype', WEIGHT_DTYPES),
      variants: arr(quant['variants'], 'quantization.variants').map((q, i) => {
        const qo = obj(q, `quantization.variants[${i}]`);
        return {
          dtype: oneOf(qo['dtype'], `quantization.variants[${i}].dtype`, WEIGHT_DTYPES),
          bytes: num(qo['bytes'], `quantization.variants[${i}].bytes`, { int: true, min: 0 }),
          diceDelta:
            qo['diceDelta'] === null ? null : num(qo['diceDelta'], `quantization.variants[${i}].diceDelta`),
        };
      }),
    },
    metrics:
      o['metrics'] === null || o['metrics'] === undefined ? null : validateMetrics(o['metrics'], 'metrics'),
  };
  if (manifest.postprocess.split?.method === 'contour-watershed' && !manifest.architecture.contour)
    schemaError('postprocess.split.method', 'is contour-watershed but architecture.contour is not true');
  const description = optional(o['description'], (d) => str(d, 'description', { max: 2000 }));
  if (description) manifest.description = description;
  const paths = new Set<string>();
  for (const f of manifestFiles(manifest)) {
    if (paths.has(f.path)) schemaError('members', `file "${f.path}" is listed twice`);
    paths.add(f.path);
  }
  return manifest;
}

/** Every file the ensemble needs, in member order (model.json first within each member). */
export function manifestFiles(m: EnsembleManifest): FileRef[] {
  return m.members.flatMap((member) => member.files);
}

/** Parse manifest text (e.g. an ensemble.json read from disk), naming the source on a JSON syntax error. */
export function parseManifest(text: string, source = 'ensemble.json'): EnsembleManifest {
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new QuorumInputError('schema', source, `is not valid JSON (${(e as Error).message})`);
  }
  try {
    return validateManifest(json);
  } catch (e) {
    if (e instanceof QuorumInputError)
      throw new QuorumInputError(e.code, `${source}: ${e.subject}`, e.message.slice(e.subject.length + 2));
    throw e;
  }
}
