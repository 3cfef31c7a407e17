import * as tf from '@tensorflow/tfjs';

/**
 * Soft Dice (the paper's loss) plus binary cross-entropy: Dice handles the foreground/background imbalance, BCE
 * gives useful gradients early, when Dice is flat. Weights are configurable; Dice is computed per sample and per
 * output channel and averaged, so a contour channel (far fewer pixels than the foreground) weighs as much as the
 * foreground rather than being drowned in a pooled sum. Optional per-element weights (the shape of the target)
 * scale the cross-entropy: the border weights that make gaps between touching objects worth learning.
 */
export interface LossWeights {
  dice: number;
  bce: number;
}

const EPS = 1e-6;

export function segmentationLoss(weights: LossWeights) {
  return (yTrue: tf.Tensor, yPred: tf.Tensor, elementWeights?: tf.Tensor): tf.Scalar =>
    tf.tidy(() => {
      const axes = [1, 2];
      const inter = tf.sum(tf.mul(yTrue, yPred), axes);
      const denom = tf.add(tf.sum(yTrue, axes), tf.sum(yPred, axes));
      const dice = tf.sub(1, tf.mean(tf.div(tf.add(tf.mul(inter, 2), EPS), tf.add(denom, EPS))));
      const p = tf.clipByValue(yPred, EPS, 1 - EPS);
      const logLikelihood = tf.add(tf.mul(yTrue, tf.log(p)), tf.mul(tf.sub(1, yTrue), tf.log(tf.sub(1, p))));
      const bce = tf.neg(tf.mean(elementWeights ? tf.mul(logLikelihood, elementWeights) : logLikelihood));
      return tf.add(tf.mul(dice, weights.dice), tf.mul(bce, weights.bce)) as tf.Scalar;
    });
}
