import * as tf from '@tensorflow/tfjs';
import { QuorumInputError } from '../errors';
import { compileForward } from '../model/fused-forward';
import type { EnsembleRunner, MemberInfo } from './runner';

/**
 * An EnsembleRunner over TF.js layers models on the active backend; every call disposes its tensors. Members run
 * through their fused forward (compileForward) where the graph allows, else through `predict`; the weights are
 * read at each call, so a runner over a model in training sees its current weights.
 */
export function tfEnsembleRunner(
  models: readonly tf.LayersModel[],
  members: readonly MemberInfo[],
): EnsembleRunner {
  const forwards = models.map((m) => compileForward(m) ?? ((x: tf.Tensor4D) => m.predict(x) as tf.Tensor4D));
  const channels = new Set(models.map((m) => m.outputs[0]!.shape[3]));
  if (channels.size > 1 || ![1, 2].includes([...channels][0] ?? 1)) {
    throw new QuorumInputError(
      'mismatch',
      'ensemble members',
      `have ${[...channels].join(' and ')} output channels; want all 1 (foreground) or all 2 (with contour)`,
    );
  }
  return {
    members,
    channels: ([...channels][0] ?? 1) as 1 | 2,
    async predict(index, tiles, count, h, w) {
      const out = tf.tidy(() => forwards[index]!(tf.tensor4d(tiles, [count, h, w, 1])));
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    },
  };
}
