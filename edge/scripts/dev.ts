import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { StaleStateError, seedDefaultEnsemble } from './seed';
import { ROOT, startWranglerDev, type WranglerDev } from './wrangler-dev';

/**
 * `npm run edge:dev`: the worker under wrangler dev on 127.0.0.1, with local R2, KV and cache persisted in
 * .state/wrangler (gitignored), then seeded with the bundled default ensemble through the publish API.
 *
 * Env: QUORUM_EDGE_PORT (default 8787), QUORUM_PUBLISH_TOKEN (default a fixed dev token, printed below),
 * QUORUM_STATE_DIR (default .state/wrangler).
 */
const port = Number(process.env['QUORUM_EDGE_PORT'] ?? 8787);
const token = process.env['QUORUM_PUBLISH_TOKEN'] || 'quorum-dev-token';
const persistTo = resolve(process.env['QUORUM_STATE_DIR'] || join(ROOT, '.state/wrangler'));
const assets = join(ROOT, 'client/dist');
const RESET = `${process.env['QUORUM_STATE_DIR'] ? `QUORUM_STATE_DIR=${persistTo} ` : ''}npm run state:reset (deletes ${relative(ROOT, persistTo) || '.'}/; the seed rebuilds it on the next start)`;

function fail(message: string): never {
  process.stderr.write(`[edge:dev] ${message}\n`);
  process.exit(2);
}

if (!existsSync(assets)) {
  // wrangler refuses to start when [assets] directory is missing; until the client is built, serve an empty one.
  mkdirSync(assets, { recursive: true });
  console.log(`[edge:dev] ${assets} did not exist: created it empty (build the client to fill it).`);
}

let dev: WranglerDev;
try {
  dev = await startWranglerDev({
    port,
    persistTo,
    vars: { PUBLISH_TOKEN: token },
    onOutput: (line) => console.log(line),
  });
} catch (e) {
  fail(
    `wrangler dev did not start: ${(e as Error).message.split('\n')[0]}\n` +
      `  If the local state is from another wrangler version or was damaged, reset it: ${RESET}`,
  );
}
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
  await dev.stop();
  if (e instanceof StaleStateError)
    fail(`the local edge state in ${persistTo} is stale or damaged: ${e.message}.\n  Reset it: ${RESET}`);
  fail(
    `seeding the default ensemble failed: ${(e as Error).message}\n  If it persists, reset the state: ${RESET}`,
  );
}
console.log('[edge:dev] ready; Ctrl-C to stop.');
dev.child.once('exit', (code) => process.exit(code ?? 1));
