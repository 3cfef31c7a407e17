import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  createProgressReporter,
  listEnsembles,
  publishEnsemble,
  rollback,
} from '../../train/src/publish/index';
import { ROOT } from './wrangler-dev';

/** The ensemble bundled with the repository, served by default in development. */
export const DEFAULT_ENSEMBLE_DIR = join(ROOT, 'models/dsb2018-fluo');

/**
 * Seed a (local) edge with the bundled default ensemble through the public publish API, exactly as
 * `quorum publish` would: no writes into R2/KV behind the worker's back, so seeding exercises the real path.
 * Idempotent: blobs already there are skipped and an identical manifest is accepted; `latest` is set only when the
 * ensemble has none yet, so a version promoted by hand survives a restart.
 */
export async function seedDefaultEnsemble(
  edge: string,
  token: string,
  log: (line: string) => void = console.log,
  dir: string = DEFAULT_ENSEMBLE_DIR,
): Promise<'seeded' | 'skipped'> {
  const manifest = join(dir, 'ensemble.json');
  if (!existsSync(manifest)) {
    log(
      `[seed] nothing seeded: no bundled default ensemble at ${manifest}. ` +
        'Train and export one there (the dsb2018-fluo default), or publish any ensemble with ' +
        `\`quorum publish DIR --edge ${edge} --promote\` (QUORUM_PUBLISH_TOKEN=${token}).`,
    );
    return 'skipped';
  }
  const result = await publishEnsemble(dir, {
    edge,
    token,
    onProgress: createProgressReporter(process.stderr),
  });
  const current = (await listEnsembles(edge)).find((e) => e.name === result.name);
  if (!current?.latest) await rollback(edge, result.name, result.version, token);
  log(
    `[seed] ${result.name}@${result.version}: ${result.blobs.uploaded} blob(s) uploaded, ` +
      `${result.blobs.skipped} already present; latest = ${current?.latest ?? result.version}`,
  );
  return 'seeded';
}

// `tsx edge/scripts/seed.ts [EDGE_URL]`: seed a running edge (token from QUORUM_PUBLISH_TOKEN).
if (import.meta.url === `file://${process.argv[1]}`) {
  const edge = process.argv[2] ?? 'http://127.0.0.1:8787';
  const token = process.env['QUORUM_PUBLISH_TOKEN'] ?? '';
  seedDefaultEnsemble(edge, token).catch((e) => {
    console.error(`[seed] failed: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
