import { isQuorumInputError, QuorumInputError } from '../errors';

/**
 * Runs a third-party decoder and turns anything it throws into a `QuorumInputError` naming the file.
 *
 * The libraries throw plain `Error`s, `TypeError`s from reading past their own arrays, `RangeError`s from
 * typed-array allocation, and (parts of utif2) bare strings; callers above this layer must only ever see
 * `QuorumInputError`. Structural problems that the
 * format modules can name precisely (truncation, unsupported variants, sizes) are checked before the library
 * runs, so what reaches this wrapper is corrupt content.
 */
export function guardLibrary<T>(subject: string, format: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (isQuorumInputError(e)) throw e;
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof RangeError && /alloc|array length|buffer/i.test(message)) {
      throw new QuorumInputError(
        'too-large',
        subject,
        `not enough memory to decode this ${format} (${message})`,
      );
    }
    throw new QuorumInputError('invalid-value', subject, `corrupt ${format} data (${message})`);
  }
}
