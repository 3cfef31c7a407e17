import { QuorumInputError } from '../errors';
import { checkMap, type Mask, type ProbabilityMap } from './map2d';

/**
 * Binarises a probability map: foreground where `p > t`, strictly. Strict so that t = 0.5 leaves a pixel the
 * model is undecided about as background, matching the aggregation rules' "exceeds the threshold", and so that
 * t = 0 still excludes pixels of probability exactly 0. NaN probabilities compare false and become background.
 */
export function threshold(prob: ProbabilityMap, t: number): Mask {
  checkMap(prob, 'probability map');
  if (!Number.isFinite(t))
    throw new QuorumInputError('invalid-value', 'threshold', `is ${t}; want a finite number`);
  const p = prob.data;
  const out = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i]! > t ? 1 : 0;
  return { width: prob.width, height: prob.height, data: out };
}
