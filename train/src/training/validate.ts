import { inferEnsemble, pixelScores, type TilingSpec, tfEnsembleRunner } from '@quorum/shared';
import type * as tf from '@tensorflow/tfjs';
import type { LoadedSample } from '../data/dataset';

/**
 * Pooled (micro) Dice of one model on whole held-out images, through the same tiled inference the product uses,
 * so early stopping optimises what users get rather than a patch-level proxy.
 */
export async function validationDice(
  model: tf.LayersModel,
  samples: readonly LoadedSample[],
  tiling: TilingSpec,
  multiple: number,
): Promise<number> {
  const runner = tfEnsembleRunner([model], [{ id: 'validation', mode: '' }]);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const s of samples) {
    const { statistics } = await inferEnsemble(s.image, s.width, s.height, runner, {
      tiling,
      multiple,
      threshold: 0.5,
    });
    const pred = Uint8Array.from(statistics.mean, (p) => (p > 0.5 ? 1 : 0));
    const sc = pixelScores(
      { width: s.width, height: s.height, data: pred },
      { width: s.width, height: s.height, data: s.mask },
    );
    tp += sc.tp;
    fp += sc.fp;
    fn += sc.fn;
  }
  return tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
}
