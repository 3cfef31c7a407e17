import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestFiles, validateManifest } from '@quorum/shared/manifest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDefaultEnsemble } from '../edge/scripts/seed';
import { startWranglerDev, type WranglerDev } from '../edge/scripts/wrangler-dev';
import { makeEnsemble, writeEnsembleDir } from '../edge/test/fixtures';
import {
  listEnsembles,
  listVersions,
  type PublishProgress,
  publishEnsemble,
  rollback,
} from '../train/src/publish';

/**
 * End to end through the real toolchain: `wrangler dev` (workerd, local R2/KV/cache, static assets, config from
 * the root wrangler.toml) on a loopback port, the trainer's publish library against it, then a client's-eye check
 * of everything it serves.
 */
const TOKEN = 'e2e-token-4f1c9b0a7d';
let dev: WranglerDev;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'quorum-edge-e2e-'));
  const assets = join(tmp, 'assets');
  await mkdir(assets);
  await writeFile(join(assets, 'index.html'), '<!doctype html><title>Quorum</title>');
  dev = await startWranglerDev({
    persistTo: join(tmp, 'state'),
    vars: { PUBLISH_TOKEN: TOKEN },
    assetsDir: assets,
  });
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('quorum publish against wrangler dev', () => {
  it('publishes an ensemble and serves every blob byte for byte', async () => {
    const ensemble = makeEnsemble({
      name: 'e2e-cells',
      version: '1.0.0',
      members: 3,
      shards: [60_000, 25_000],
    });
    const dir = await writeEnsembleDir(join(tmp, 'v1'), ensemble);
    const events: PublishProgress[] = [];
    const result = await publishEnsemble(dir, {
      edge: dev.url,
      token: TOKEN,
      promote: true,
      onProgress: (e) => events.push(e),
    });
    expect(result).toMatchObject({
      name: 'e2e-cells',
      version: '1.0.0',
      existed: false,
      promoted: true,
      blobs: { total: 9, uploaded: 9, skipped: 0 },
    });
    expect(events.at(-1)?.phase).toBe('done');

    // A client: latest manifest, then every file it names, each checked against its sha256 and size.
    const res = await fetch(`${dev.url}/v1/ensembles/e2e-cells/latest`);
    expect(res.status).toBe(200);
    const manifest = validateManifest(await res.json());
    expect(manifest.version).toBe('1.0.0');
    const files = manifestFiles(manifest);
    expect(files).toHaveLength(9);
    for (const f of files) {
      const blob = await fetch(`${dev.url}/v1/blobs/${f.sha256}`);
      expect(blob.status, f.path).toBe(200);
      expect(blob.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
      const bytes = new Uint8Array(await blob.arrayBuffer());
      expect(bytes.byteLength, f.path).toBe(f.bytes);
      expect(sha256(bytes), f.path).toBe(f.sha256);
    }
    // A ranged read of a shard, as a resuming browser would do.
    const shard = files.find((f) => f.path.endsWith('.bin'))!;
    const part = await fetch(`${dev.url}/v1/blobs/${shard.sha256}`, { headers: { Range: 'bytes=-100' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('Content-Range')).toBe(
      `bytes ${shard.bytes - 100}-${shard.bytes - 1}/${shard.bytes}`,
    );
    expect((await part.arrayBuffer()).byteLength).toBe(100);
  });

  it('re-publishing uploads nothing; a new version shares blobs; promote and roll back', async () => {
    const again = await publishEnsemble(join(tmp, 'v1'), { edge: dev.url, token: TOKEN });
    expect(again).toMatchObject({ existed: true, blobs: { uploaded: 0, skipped: 9 } });

    const v2 = await publishEnsemble(join(tmp, 'v1'), {
      edge: dev.url,
      token: TOKEN,
      version: '1.1.0',
      promote: true,
    });
    expect(v2).toMatchObject({ version: '1.1.0', blobs: { uploaded: 0 }, previousLatest: '1.0.0' });
    expect(await listEnsembles(dev.url)).toContainEqual({ name: 'e2e-cells', latest: '1.1.0' });
    expect(await rollback(dev.url, 'e2e-cells', '1.0.0', TOKEN)).toMatchObject({ latest: '1.0.0' });
    const listing = await listVersions(dev.url, 'e2e-cells');
    expect(listing.latest).toBe('1.0.0');
    expect(listing.versions.map((v) => v.version).sort()).toEqual(['1.0.0', '1.1.0']);
  });

  it('seeds through the publish API (the dev seed script) and sets latest once', async () => {
    const dir = await writeEnsembleDir(
      join(tmp, 'seed'),
      makeEnsemble({ name: 'seeded', version: '2024.1' }),
    );
    const lines: string[] = [];
    expect(await seedDefaultEnsemble(dev.url, TOKEN, (l) => lines.push(l), dir)).toBe('seeded');
    expect(await listEnsembles(dev.url)).toContainEqual({ name: 'seeded', latest: '2024.1' });
    expect(await seedDefaultEnsemble(dev.url, TOKEN, (l) => lines.push(l), join(tmp, 'none'))).toBe(
      'skipped',
    );
    expect(lines.at(-1)).toMatch(/nothing seeded/);
  });

  it('seeding a newer bundled version moves latest to it; an older one leaves latest alone', async () => {
    const lines: string[] = [];
    const seed = async (version: string) =>
      seedDefaultEnsemble(
        dev.url,
        TOKEN,
        (l) => lines.push(l),
        await writeEnsembleDir(join(tmp, `bundled-${version}`), makeEnsemble({ name: 'bundled', version })),
      );
    await seed('1.9.0');
    await seed('1.10.0');
    expect(await listEnsembles(dev.url)).toContainEqual({ name: 'bundled', latest: '1.10.0' });
    await seed('1.2.0');
    expect(await listEnsembles(dev.url)).toContainEqual({ name: 'bundled', latest: '1.10.0' });
    expect(lines.at(-1)).toMatch(/bundled@1\.2\.0: .* served intact; latest = 1\.10\.0/);
  });

  it('publishes a real ensemble exported by quorum train (test/fixtures/tiny-ensemble)', async () => {
    const dir = join(import.meta.dirname, 'fixtures/tiny-ensemble');
    const result = await publishEnsemble(dir, { edge: dev.url, token: TOKEN, promote: true });
    const res = await fetch(`${dev.url}/v1/ensembles/${result.name}/latest`);
    const served = new Uint8Array(await res.arrayBuffer());
    expect(served).toEqual(new Uint8Array(await readFile(join(dir, 'ensemble.json'))));
    for (const f of manifestFiles(validateManifest(JSON.parse(new TextDecoder().decode(served))))) {
      const bytes = new Uint8Array(await (await fetch(`${dev.url}/v1/blobs/${f.sha256}`)).arrayBuffer());
      expect(sha256(bytes), f.path).toBe(f.sha256);
    }
  });

  it('serves the app with cross-origin isolation headers from the wrangler.toml config', async () => {
    const res = await fetch(`${dev.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cross-Origin-Opener-Policy')).toBe('same-origin');
    expect(res.headers.get('Cross-Origin-Embedder-Policy')).toBe('require-corp');
    expect(await res.text()).toContain('Quorum');
  });
});

describe('the quorum publish command against wrangler dev', () => {
  const bin = join(__dirname, '..', 'train', 'bin', 'quorum.js');
  const cli = async (args: string[]) => {
    const { execFile } = await import('node:child_process');
    return new Promise<{ code: number; out: string; err: string }>((done) => {
      execFile(
        process.execPath,
        [bin, ...args],
        { env: { ...process.env, QUORUM_PUBLISH_TOKEN: TOKEN } },
        (e, out, err) => done({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
      );
    });
  };

  it('publishes the exported tiny ensemble, lists it, rolls back, and every blob verifies', async () => {
    const fixture = join(__dirname, 'fixtures', 'tiny-ensemble');
    const v1 = await cli([
      'publish',
      fixture,
      '--edge',
      dev.url,
      '--name',
      'cli-tiny',
      '--version',
      '1.0.0',
      '--promote',
    ]);
    expect(v1.code, v1.err).toBe(0);
    expect(v1.out).toMatch(/cli-tiny 1\.0\.0: published; uploaded \d+ of \d+ blobs/);
    const v2 = await cli([
      'publish',
      fixture,
      '--edge',
      dev.url,
      '--name',
      'cli-tiny',
      '--version',
      '1.0.1',
      '--promote',
    ]);
    expect(v2.out).toMatch(/uploaded 0 of \d+ blobs/); // same weights: nothing to upload
    const list = await cli(['publish', '--list', '--edge', dev.url, '--name', 'cli-tiny']);
    expect(list.out).toMatch(/cli-tiny: latest 1\.0\.1/);
    const back = await cli(['publish', '--rollback', '1.0.0', '--name', 'cli-tiny', '--edge', dev.url]);
    expect(back.out).toMatch(/latest is now 1\.0\.0 \(was 1\.0\.1\)/);
    const manifest = validateManifest(await (await fetch(`${dev.url}/v1/ensembles/cli-tiny/latest`)).json());
    expect(manifest.version).toBe('1.0.0');
    for (const f of manifestFiles(manifest)) {
      const body = new Uint8Array(await (await fetch(`${dev.url}/v1/blobs/${f.sha256}`)).arrayBuffer());
      expect(sha256(body)).toBe(f.sha256);
      expect(body.byteLength).toBe(f.bytes);
    }
    const refused = await cli(['publish', fixture, '--edge', dev.url, '--name', '../etc']);
    expect(refused.code).toBe(2);
    expect(refused.err.trim().split('\n')).toHaveLength(1);
  });
});
