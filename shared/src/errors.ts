/**
 * The one error type for bad input anywhere in Quorum. `subject` names what was wrong (a file name, a manifest
 * field path, a CLI flag, a limit) so every layer above can show a one-line reason without a stack trace.
 */
export type InputErrorCode =
  | 'truncated'
  | 'unsupported'
  | 'too-large'
  | 'invalid-value'
  | 'mismatch'
  | 'missing'
  | 'too-few'
  | 'schema';

export class QuorumInputError extends Error {
  override readonly name = 'QuorumInputError';
  constructor(
    readonly code: InputErrorCode,
    readonly subject: string,
    detail: string,
  ) {
    super(`${subject}: ${detail}`);
  }
}

export function isQuorumInputError(e: unknown): e is QuorumInputError {
  return e instanceof Error && e.name === 'QuorumInputError' && 'code' in e && 'subject' in e;
}
