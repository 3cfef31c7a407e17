import * as tf from '@tensorflow/tfjs';
import { QuorumInputError } from '../errors';
import { concat, type WeightSpec } from '../quantize/weights';

interface ModelJson {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

function parseModelJson(text: string | object, source: string): ModelJson {
  let json: unknown = text;
  if (typeof text === 'string') {
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new QuorumInputError('schema', source, `is not valid JSON (${(e as Error).message})`);
    }
  }
  const o = json as Partial<ModelJson> | null;
  if (!o || typeof o !== 'object' || !o.modelTopology || !Array.isArray(o.weightsManifest)) {
    throw new QuorumInputError(
      'schema',
      source,
      'is not a TF.js layers model.json (modelTopology or weightsManifest missing)',
    );
  }
  return o as ModelJson;
}

/** Shard file names in the order their bytes concatenate, as model.json lists them. */
export function shardPaths(modelJson: string | object, source = 'model.json'): string[] {
  return parseModelJson(modelJson, source).weightsManifest.flatMap((g) => g.paths);
}

/**
 * Load one member from its model.json and shard bytes (already fetched and verified by the caller), on whatever
 * TF.js backend is active. The same function serves Node and the browser: TF.js dequantizes uint8/float16 weights.
 */
export async function loadMember(
  modelJson: string | object,
  shards: readonly (ArrayBuffer | Uint8Array)[],
  source = 'model.json',
): Promise<tf.LayersModel> {
  const parsed = parseModelJson(modelJson, source);
  const expected = parsed.weightsManifest.flatMap((g) => g.paths).length;
  if (shards.length !== expected) {
    throw new QuorumInputError(
      'mismatch',
      source,
      `lists ${expected} weight shard(s) but ${shards.length} were given`,
    );
  }
  const weightSpecs = parsed.weightsManifest.flatMap((g) => g.weights);
  const data = concat(shards.map((s) => (s instanceof Uint8Array ? s : new Uint8Array(s))));
  const need = weightSpecs.reduce((n, s) => {
    const count = s.shape.reduce((a, b) => a * b, 1);
    const per = s.quantization ? (s.quantization.dtype === 'uint8' ? 1 : 2) : 4;
    return n + count * per;
  }, 0);
  if (data.byteLength !== need) {
    throw new QuorumInputError(
      'truncated',
      source,
      `weights are ${data.byteLength} bytes but the manifest needs ${need}`,
    );
  }
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return tf.loadLayersModel({
    load: async () => ({
      modelTopology: parsed.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      weightSpecs: weightSpecs as tf.io.WeightsManifestEntry[],
      weightData,
    }),
  });
}

/** TF.js artifacts (topology, specs, float32 data) of a model in memory, via a save handler. */
export async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}
