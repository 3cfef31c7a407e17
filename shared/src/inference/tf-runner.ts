import * as tf from '@tensorflow/tfjs';
import type { EnsembleRunner, MemberInfo } from './runner';

/** An EnsembleRunner over TF.js layers models on the active backend; every call disposes its tensors. */
export function tfEnsembleRunner(
  models: readonly tf.LayersModel[],
  members: readonly MemberInfo[],
): EnsembleRunner {
  return {
    members,
    async predict(index, tiles, count, h, w) {
      const out = tf.tidy(() => models[index]!.predict(tf.tensor4d(tiles, [count, h, w, 1])) as tf.Tensor);
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    },
  };
}
