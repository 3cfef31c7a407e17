// `npm run state:reset`: delete the local edge state (.state/wrangler, or QUORUM_STATE_DIR: local R2, KV and cache) so the next
// `npm start` rebuilds it from the bundled ensemble. Refuses while an edge is running on the port, since wrangler
// would keep writing into the folder being deleted. Logs in .state/ are kept.
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const state = resolve(process.env['QUORUM_STATE_DIR'] || join(ROOT, '.state/wrangler'));
const port = Number(process.env['QUORUM_EDGE_PORT'] ?? 8787);

const free = await new Promise<boolean>((resolve) => {
  const server = createServer();
  server.once('error', () => resolve(false));
  server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
});
if (!free) {
  process.stderr.write(
    `[state:reset] port ${port} is in use: stop the running \`npm start\` (Ctrl-C) first, then reset.\n`,
  );
  process.exit(2);
}
if (!existsSync(state)) {
  console.log(`[state:reset] nothing to reset: ${state} does not exist.`);
} else {
  rmSync(state, { recursive: true, force: true });
  console.log(`[state:reset] removed ${state}; \`npm start\` will seed a fresh one.`);
}
