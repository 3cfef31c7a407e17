import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareVersions, manifestFiles, validateManifest } from '@quorum/shared/manifest';
import {
  createProgressReporter,
  listEnsembles,
  publishEnsemble,
  rollback,
} from '../../train/src/publish/index';
import { ROOT } from './wrangler-dev';

/** The ensemble bundled with the repository, served by default in development. */
export const DEFAULT_ENSEMBLE_DIR = join(ROOT, 'models/dsb2018-fluo');

/** The local edge serves something other than what was published to it: its persisted state is stale or damaged. */
export class StaleStateError extends Error {}

/**
 * Seed a (local) edge with the bundled default ensemble through the public publish API, exactly as
 * `quorum publish` would: no writes into R2/KV behind the worker's back, so seeding exercises the real path.
 * Idempotent: blobs already there are skipped and an identical manifest is accepted. `latest` moves to the bundled
 * version when there is none or when the bundled one is newer (a repository update ships a new default); a version
 * promoted by hand that is newer survives a restart.
 *
 * Then it reads back what a browser would (the manifest and every blob, re-hashed), so state left by an older
 * toolchain or a half-deleted folder is caught here, with the way out, rather than as a broken app.
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
  let latest = current?.latest ?? null;
  if (!latest || compareVersions(result.version, latest) > 0) {
    await rollback(edge, result.name, result.version, token);
    latest = result.version;
  }
  await verifyServed(edge, dir);
  log(
    `[seed] ${result.name}@${result.version}: ${result.blobs.uploaded} blob(s) uploaded, ` +
      `${result.blobs.skipped} already present, all ${result.blobs.total} served intact; latest = ${latest}`,
  );
  return 'seeded';
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Reads the published version back as a client would and checks every byte against the local folder. */
export async function verifyServed(edge: string, dir: string): Promise<void> {
  const local = readFileSync(join(dir, 'ensemble.json'));
  const m = validateManifest(JSON.parse(local.toString('utf8')));
  const res = await fetch(`${edge}/v1/ensembles/${m.name}/${m.version}`);
  const served = new Uint8Array(await res.arrayBuffer());
  if (!res.ok || sha256(served) !== sha256(local))
    throw new StaleStateError(
      `the edge serves ${m.name}@${m.version}'s manifest ${res.ok ? 'with different bytes' : `as HTTP ${res.status}`}`,
    );
  for (const f of manifestFiles(m)) {
    const blob = await fetch(`${edge}/v1/blobs/${f.sha256}`);
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (!blob.ok || sha256(bytes) !== f.sha256)
      throw new StaleStateError(
        `blob ${f.sha256.slice(0, 12)}... (${f.path}) is ${blob.ok ? `served with other bytes (${bytes.byteLength} of ${f.bytes})` : `HTTP ${blob.status}`}`,
      );
  }
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
