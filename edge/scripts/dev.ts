import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { seedDefaultEnsemble } from './seed';
import { ROOT, startWranglerDev } from './wrangler-dev';

/**
 * `npm run edge:dev`: the worker under wrangler dev on 127.0.0.1, with local R2, KV and cache persisted in
 * .state/wrangler (gitignored), then seeded with the bundled default ensemble through the publish API.
 *
 * Env: QUORUM_EDGE_PORT (default 8787), QUORUM_PUBLISH_TOKEN (default a fixed dev token, printed below).
 */
const port = Number(process.env['QUORUM_EDGE_PORT'] ?? 8787);
const token = process.env['QUORUM_PUBLISH_TOKEN'] || 'quorum-dev-token';
const persistTo = join(ROOT, '.state/wrangler');
const assets = join(ROOT, 'client/dist');

if (!existsSync(assets)) {
  // wrangler refuses to start when [assets] directory is missing; until the client is built, serve an empty one.
  mkdirSync(assets, { recursive: true });
  console.log(`[edge:dev] ${assets} did not exist: created it empty (build the client to fill it).`);
}

const dev = await startWranglerDev({
  port,
  persistTo,
  vars: { PUBLISH_TOKEN: token },
  onOutput: (line) => console.log(line),
});
console.log(`[edge:dev] edge on ${dev.url}  (state: ${persistTo}, publish token: ${token})`);

const shutdown = async () => {
  await dev.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

try {
  await seedDefaultEnsemble(dev.url, token, (l) => console.log(l));
} catch (e) {
  console.error(`[seed] failed: ${(e as Error).message}`);
}
console.log('[edge:dev] ready; Ctrl-C to stop.');
dev.child.once('exit', (code) => process.exit(code ?? 1));
