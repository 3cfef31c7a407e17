import { parseArgs } from 'node:util';
import { QuorumInputError } from '@quorum/shared';

/** Flag parsing shared by the commands: strict (unknown flags are errors) and with typed numeric helpers. */
export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export function parseFlags<T extends FlagSpec>(argv: string[], spec: T) {
  try {
    return parseArgs({
      args: argv,
      options: { ...spec, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new QuorumInputError(
      'invalid-value',
      'arguments',
      (e as Error).message.replace(/\. To specify.*$/s, ''),
    );
  }
}

export function intFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new QuorumInputError(
      'invalid-value',
      flag,
      `must be an integer in ${min}..${max} (got "${value}")`,
    );
  }
  return n;
}

export function numberFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new QuorumInputError('invalid-value', flag, `must be a number in ${min}..${max} (got "${value}")`);
  return n;
}

export function choiceFlag<C extends string>(
  value: string | undefined,
  flag: string,
  choices: readonly C[],
  fallback: C,
): C {
  if (value === undefined) return fallback;
  if (!choices.includes(value as C))
    throw new QuorumInputError(
      'invalid-value',
      flag,
      `must be one of ${choices.join(', ')} (got "${value}")`,
    );
  return value as C;
}

export function requireFlag(value: string | undefined, flag: string): string {
  if (!value) throw new QuorumInputError('missing', flag, 'is required (see --help)');
  return value;
}
