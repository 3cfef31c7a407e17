import { resolve } from 'node:path';
import { QuorumInputError } from '@quorum/shared';
import {
  createProgressReporter,
  formatBytes,
  listEnsembles,
  listVersions,
  publishEnsemble,
  rollback,
  TOKEN_ENV,
  tokenFromEnv,
} from '../publish';
import { parseFlags, requireFlag } from './args';

export const PUBLISH_HELP = `quorum publish ENSEMBLE_DIR --edge URL [--name N] [--version V] [--promote]
quorum publish --list --edge URL [--name N]
quorum publish --rollback VERSION --name N --edge URL

Publish an exported ensemble to a Quorum edge: uploads only the blobs the edge lacks (HEAD first, with retries),
then the manifest, then (with --promote) makes it the latest. Interrupted, it leaves the previous latest served;
rerun it to resume. The token comes from ${TOKEN_ENV}.

  --edge URL           the edge worker (https://..., or http://127.0.0.1:PORT for local development)
  --name N             publish under this name (default: the manifest's)
  --version V          publish as this version (default: the manifest's)
  --promote            make this version latest once published
  --list               list ensembles (or, with --name, that ensemble's versions)
  --rollback VERSION   make an earlier version latest again (needs --name)
`;

export async function publishCommand(argv: string[], log: (s: string) => void): Promise<void> {
  const { values: v, positionals } = parseFlags(argv, {
    edge: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    promote: { type: 'boolean' },
    list: { type: 'boolean' },
    rollback: { type: 'string' },
  });
  if (v.help) return log(PUBLISH_HELP);
  const edge = requireFlag(v.edge, '--edge');
  if (v.list) {
    if (v.name) {
      const listing = await listVersions(edge, v.name);
      log(`${listing.name}: latest ${listing.latest ?? '(none)'}`);
      for (const ver of listing.versions)
        log(`  ${ver.version}  ${ver.created}  ${formatBytes(ver.size)}  ${ver.sha256.slice(0, 12)}`);
      return;
    }
    for (const e of await listEnsembles(edge)) log(`${e.name}  latest ${e.latest ?? '(none)'}`);
    return;
  }
  const token = tokenFromEnv();
  if (v.rollback) {
    const name = requireFlag(v.name, '--name');
    const r = await rollback(edge, name, v.rollback, token);
    log(`${name}: latest is now ${r.latest} (was ${r.previous ?? 'none'})`);
    return;
  }
  if (positionals.length !== 1)
    throw new QuorumInputError(
      'missing',
      'ENSEMBLE_DIR',
      'give exactly one exported ensemble folder to publish',
    );
  const result = await publishEnsemble(resolve(positionals[0]!), {
    edge,
    token,
    ...(v.name ? { name: v.name } : {}),
    ...(v.version ? { version: v.version } : {}),
    promote: v.promote ?? false,
    onProgress: createProgressReporter(),
  });
  log(
    `${result.name} ${result.version}: ${result.existed ? 'already published' : 'published'}; uploaded ${result.blobs.uploaded} of ${result.blobs.total} blobs (${formatBytes(result.bytes.uploaded)})` +
      (result.promoted ? `; latest (was ${result.previousLatest ?? 'none'})` : ''),
  );
}
