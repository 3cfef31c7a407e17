import { NAME_PATTERN, SHA256_PATTERN, VERSION_PATTERN } from '@quorum/shared/manifest';
import { HttpError, quote } from './http';

/**
 * Path parameters become R2 and KV keys, so they are checked against the manifest schema's own patterns (one
 * definition for the trainer, the edge and the browser). The patterns admit no `/`, no `%`, no leading dot and at
 * most 64 characters, which rules out `..`, `%2e%2e`, encoded slashes and 10 kB names in one place.
 */

/** `latest` is a route (`/v1/ensembles/:name/latest`), so it can never be a version's name. */
export const RESERVED_VERSIONS: ReadonlySet<string> = new Set(['latest']);

export function checkName(raw: string): string {
  if (!NAME_PATTERN.test(raw)) {
    throw new HttpError(400, `ensemble name ${quote(raw)} must match ${NAME_PATTERN}`);
  }
  return raw;
}

export function checkVersion(raw: string): string {
  if (!VERSION_PATTERN.test(raw)) {
    throw new HttpError(400, `version ${quote(raw)} must match ${VERSION_PATTERN}`);
  }
  if (RESERVED_VERSIONS.has(raw)) throw new HttpError(400, `version ${quote(raw)} is reserved`);
  return raw;
}

export function checkSha256(raw: string): string {
  if (!SHA256_PATTERN.test(raw)) {
    throw new HttpError(400, `blob id ${quote(raw)} must be a lowercase hex SHA-256 (64 characters)`);
  }
  return raw;
}
