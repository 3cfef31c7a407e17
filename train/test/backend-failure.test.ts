import { QuorumInputError } from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import { explainBackendFailure } from '../src/training/backend-failure';

describe('explainBackendFailure', () => {
  const step = { batch: 4, patch: 256 };

  it('turns a WASM abort into a one-line error naming the flags to lower and saying the work is kept', () => {
    // What the emscripten runtime throws (a WebAssembly.RuntimeError).
    const abort = Object.assign(new Error('Aborted(). Build with -sASSERTIONS for more info.'), {
      name: 'RuntimeError',
    });
    const e = explainBackendFailure(abort, 'wasm', step);
    expect(e).toBeInstanceOf(QuorumInputError);
    expect((e as QuorumInputError).code).toBe('too-large');
    expect((e as Error).message).toMatch(
      /^--batch\/--patch: a training step of 4 patches of 256x256 stopped/,
    );
    expect((e as Error).message).toMatch(/at most 4 GB.*lower --batch or --patch.*resumes/);
  });

  it('leaves other errors, and aborts on other backends, as they are', () => {
    const other = new Error('loss became NaN');
    expect(explainBackendFailure(other, 'wasm', step)).toBe(other);
    const abort = new Error('Aborted()');
    expect(explainBackendFailure(abort, 'tensorflow', step)).toBe(abort);
  });
});
