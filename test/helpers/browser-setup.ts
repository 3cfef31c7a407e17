import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startWranglerDev } from '../../edge/scripts/wrangler-dev';
import { publishEnsemble } from '../../train/src/publish';
import { CHROMIUM, type ClientTestContext, chromiumAvailable } from './browser';
import { buildClient, CLIENT_DIST } from './browser-build';

/**
 * Global setup of the `client` Vitest project: build the client, start the edge worker under `wrangler dev` on
 * loopback serving that build, and publish the tiny test ensemble to it through the real publish API (the dev
 * seed path). One edge for all browser test files; each file brings its own proxy and browser.
 */
export const TINY_ENSEMBLE_DIR = join(ROOT, 'test/fixtures/tiny-ensemble');
const TOKEN = 'client-test-token-7c1d';

export default async function setup(project: {
  provide: (key: 'quorumClient', value: ClientTestContext) => void;
}) {
  if (!chromiumAvailable()) {
    // Fail, never skip: a browser suite that silently skips would let CI pass without testing the client.
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the browser tests need Debian's chromium. Install it with ` +
        '`sudo apt-get install -y chromium` (.ci/run does), or point QUORUM_CHROMIUM at a Chromium binary.',
    );
  }
  await buildClient();
  const state = await mkdtemp(join(tmpdir(), 'quorum-client-edge-'));
  const dev = await startWranglerDev({
    persistTo: state,
    vars: { PUBLISH_TOKEN: TOKEN },
    assetsDir: CLIENT_DIST,
    logLevel: 'warn',
  });
  try {
    // What `quorum publish --promote` does (and the dev seed script): the real publish API, no writes behind it.
    await publishEnsemble(TINY_ENSEMBLE_DIR, { edge: dev.url, token: TOKEN, promote: true });
  } catch (e) {
    await dev.stop();
    throw e;
  }
  project.provide('quorumClient', { edge: dev.url, ensemble: 'tiny-test', token: TOKEN });
  return async () => {
    await dev.stop();
    await rm(state, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    quorumClient: ClientTestContext;
  }
}
