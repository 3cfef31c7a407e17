/**
 * Storage layout, in one place so that no module builds a key by hand. Every component has been validated by
 * names.ts before it gets here (strict alphabet, no `/`), so a key cannot escape its prefix.
 *
 * R2 (immutable):
 *   blobs/<sha256>                      content-addressed bytes (weight shards, model.json files)
 *   manifests/<name>/<version>.json     the manifest as published; written once (conditional put)
 * KV (the registry):
 *   e/<name>                            the ensemble exists (has or had a version)
 *   v/<name>/<version>                  a listed version; value and metadata are its VersionRecord
 *   l/<name>                            the latest version's name; metadata { version }
 */
export const blobKey = (sha256: string) => `blobs/${sha256}`;
export const manifestKey = (name: string, version: string) => `manifests/${name}/${version}.json`;
export const ENSEMBLE_PREFIX = 'e/';
export const LATEST_PREFIX = 'l/';
export const ensembleKey = (name: string) => `${ENSEMBLE_PREFIX}${name}`;
export const versionPrefix = (name: string) => `v/${name}/`;
export const versionKey = (name: string, version: string) => `${versionPrefix(name)}${version}`;
export const latestKey = (name: string) => `${LATEST_PREFIX}${name}`;
