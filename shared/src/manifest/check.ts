import { QuorumInputError } from '../errors';

/**
 * Tiny structural checkers for JSON documents. Each takes the dotted path of the value it checks, so a schema
 * error always names the exact field (`members[2].files[0].sha256`), which is what a maintainer needs to fix it.
 */
export type Json = unknown;

function fail(path: string, detail: string): never {
  throw new QuorumInputError('schema', path, detail);
}

export function obj(v: Json, path: string): Record<string, Json> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  return v as Record<string, Json>;
}

export function arr(v: Json, path: string, opts: { min?: number; max?: number } = {}): Json[] {
  if (!Array.isArray(v)) fail(path, 'must be an array');
  if (opts.min !== undefined && v.length < opts.min) fail(path, `must have at least ${opts.min} entries`);
  if (opts.max !== undefined && v.length > opts.max) fail(path, `must have at most ${opts.max} entries`);
  return v;
}

export function str(v: Json, path: string, opts: { pattern?: RegExp; max?: number } = {}): string {
  if (typeof v !== 'string' || v.length === 0) fail(path, 'must be a non-empty string');
  if (opts.max !== undefined && v.length > opts.max) fail(path, `must be at most ${opts.max} characters`);
  if (opts.pattern && !opts.pattern.test(v)) fail(path, `"${v.slice(0, 80)}" does not match ${opts.pattern}`);
  return v;
}

export function num(v: Json, path: string, opts: { min?: number; max?: number; int?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'must be a finite number');
  if (opts.int && !Number.isInteger(v)) fail(path, 'must be an integer');
  if (opts.min !== undefined && v < opts.min) fail(path, `must be >= ${opts.min} (got ${v})`);
  if (opts.max !== undefined && v > opts.max) fail(path, `must be <= ${opts.max} (got ${v})`);
  return v;
}

export function bool(v: Json, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'must be true or false');
  return v;
}

export function oneOf<T extends string>(v: Json, path: string, options: readonly T[]): T {
  if (typeof v !== 'string' || !options.includes(v as T)) {
    fail(
      path,
      `must be one of ${options.map((o) => JSON.stringify(o)).join(', ')} (got ${JSON.stringify(v)})`,
    );
  }
  return v as T;
}

export function optional<T>(v: Json, check: (v: Json) => T): T | undefined {
  return v === undefined || v === null ? undefined : check(v);
}

export function schemaError(path: string, detail: string): never {
  fail(path, detail);
}
