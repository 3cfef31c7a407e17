import { QuorumInputError } from '@quorum/shared';

/**
 * Turns the WASM runtime's bare `RuntimeError: Aborted()` into a message a researcher can act on. The WASM heap
 * is at most 4 GB, so a large network on large batches can exhaust it mid-step (the paper-size U-Net, 32..512
 * filters with BatchNorm, on batches of 4 x 256x256 does, measured by `npm run bench:train`). Other errors pass
 * through unchanged.
 */
export function explainBackendFailure(
  error: unknown,
  backend: string,
  step: { batch: number; patch: number },
): unknown {
  if (backend !== 'wasm' || !(error instanceof Error) || !/\bAborted\(/.test(error.message)) return error;
  return new QuorumInputError(
    'too-large',
    '--batch/--patch',
    `a training step of ${step.batch} patches of ${step.patch}x${step.patch} stopped the WASM backend (it has at most 4 GB of memory): ` +
      'lower --batch or --patch (or --base-filters/--depth), or train on @tensorflow/tfjs-node(-gpu); ' +
      'finished members are kept and rerunning resumes this one from its last epoch',
  );
}
