// Library behind `quorum publish`: the CLI parses flags and calls these.
export { type LocalEnsemble, MANIFEST_FILE, readEnsembleDir } from './ensemble-dir';
export { edgeUrl, type FetchLike, PublishError } from './http';
export {
  createProgressReporter,
  formatBytes,
  type PublishProgress,
  type ReporterOptions,
  type ReporterStream,
} from './progress';
export {
  type EnsembleListing,
  listEnsembles,
  listVersions,
  type PublishOptions,
  type PublishResult,
  publishEnsemble,
  type ReadOptions,
  rollback,
  TOKEN_ENV,
  tokenFromEnv,
  type VersionListing,
} from './publish';
