import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Write a file so that a reader sees either the old content or the new, never half of it (crash, kill -9). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Replace directory `to` by `from` (same filesystem): the swap a finished member or checkpoint is published by. */
export function replaceDir(from: string, to: string): void {
  const old = `${to}.old-${process.pid}`;
  rmSync(old, { recursive: true, force: true });
  try {
    renameSync(to, old);
  } catch {
    // `to` did not exist yet.
  }
  mkdirSync(dirname(to), { recursive: true });
  renameSync(from, to);
  rmSync(old, { recursive: true, force: true });
}
