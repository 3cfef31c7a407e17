import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';

/** Repository root (this file is edge/test/harness.ts). */
export const ROOT = resolve(import.meta.dirname, '../..');
export const TEST_TOKEN = 'test-publish-token-0123456789abcdef';

/** `wrangler deploy --dry-run` into a temp dir: the production bundle, without an account. */
export async function buildWorker(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'quorum-edge-build-'));
  const assets = join(dir, 'assets');
  await import('node:fs/promises').then((fs) => fs.mkdir(assets));
  await promisify(execFile)(
    join(ROOT, 'node_modules/.bin/wrangler'),
    ['deploy', '--dry-run', '--outdir', join(dir, 'out'), '--assets', assets, '--config', 'wrangler.toml'],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_UPDATE_NOTIFIER: '1' } },
  );
  return { dir: join(dir, 'out'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface EdgeOptions {
  /** Directory served as static assets (default: an empty temp dir). */
  assetsDir?: string;
  /** PUBLISH_TOKEN secret; `null` leaves it unset. */
  token?: string | null;
  maxBlobBytes?: number;
}

export interface Edge {
  mf: Miniflare;
  url: URL;
  /** fetch() against the running worker over real HTTP on loopback. */
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
  /** Same, with the publish token. */
  authed: (path: string, init?: RequestInit) => Promise<Response>;
  bucket: Awaited<ReturnType<Miniflare['getR2Bucket']>>;
  kv: Awaited<ReturnType<Miniflare['getKVNamespace']>>;
  dispose: () => Promise<void>;
}

async function compatibilityDate(): Promise<string> {
  const toml = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
  const m = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml);
  if (!m) throw new Error('wrangler.toml has no compatibility_date');
  return m[1]!;
}

/** A fresh worker in workerd via miniflare: in-memory R2, KV and cache, so every test file starts empty. */
export async function startEdge(bundleDir: string, options: EdgeOptions = {}): Promise<Edge> {
  const tmpAssets = options.assetsDir ? null : await mkdtemp(join(tmpdir(), 'quorum-edge-assets-'));
  const token = options.token === undefined ? TEST_TOKEN : options.token;
  const bindings: Record<string, string> = {};
  if (token !== null) bindings['PUBLISH_TOKEN'] = token;
  if (options.maxBlobBytes) bindings['MAX_BLOB_BYTES'] = String(options.maxBlobBytes);
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(bundleDir, 'index.js'),
    // Module names are paths relative to this root; the default (cwd) would give them a '..' workerd refuses.
    modulesRoot: bundleDir,
    compatibilityDate: await compatibilityDate(),
    r2Buckets: ['BLOBS'],
    kvNamespaces: ['REGISTRY'],
    bindings,
    assets: {
      directory: options.assetsDir ?? tmpAssets!,
      binding: 'ASSETS',
      // Mirrors `run_worker_first = true` in wrangler.toml.
      routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
    },
    host: '127.0.0.1',
    port: 0,
  });
  let url: URL;
  try {
    url = await mf.ready;
  } catch (e) {
    if (tmpAssets) await rm(tmpAssets, { recursive: true, force: true });
    throw e;
  }
  const fetchEdge = (path: string, init?: RequestInit) => fetch(new URL(path, url), init);
  return {
    mf,
    url,
    fetch: fetchEdge,
    authed: (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set('Authorization', `Bearer ${TEST_TOKEN}`);
      return fetchEdge(path, { ...init, headers });
    },
    bucket: await mf.getR2Bucket('BLOBS'),
    kv: await mf.getKVNamespace('REGISTRY'),
    dispose: async () => {
      await mf.dispose();
      if (tmpAssets) await rm(tmpAssets, { recursive: true, force: true });
    },
  };
}

/** A response body as loosely typed JSON: tests assert its shape with `expect`, not with the compiler. */
export const body = (res: Response): Promise<any> => res.json();
