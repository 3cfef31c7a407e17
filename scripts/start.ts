// `npm start`: the main job on a fresh machine. Builds the browser client, then serves it from the edge worker
// (wrangler dev on 127.0.0.1, local R2/KV under .state/) with the bundled default ensemble published into it through
// the real publish API, and prints the app's URL. Works offline. Ctrl-C stops everything it started.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const port = Number(process.env['QUORUM_EDGE_PORT'] ?? 8787);

function fail(message: string): never {
  process.stderr.write(`[start] ${message}\n`);
  process.exit(2);
}

async function portFree(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(p, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
if (major < 20 || (major === 20 && minor < 19))
  fail(`Node ${process.versions.node} is too old: Quorum needs Node 20.19+ or 22+.`);
if (!Number.isInteger(port) || port < 1 || port > 65535)
  fail(`QUORUM_EDGE_PORT=${process.env['QUORUM_EDGE_PORT']} is not a port number.`);
if (!(await portFree(port))) {
  fail(
    `port ${port} on 127.0.0.1 is in use (is another \`npm start\` running?). Stop it, or choose another port: QUORUM_EDGE_PORT=${port + 1} npm start`,
  );
}
if (!existsSync(join(ROOT, 'models/dsb2018-fluo/ensemble.json'))) {
  process.stderr.write(
    '[start] note: the bundled default ensemble (models/dsb2018-fluo/ensemble.json) is not there yet: the app will load, but has no model to run.\n' +
      '        Train it with scripts/train-default-ensemble.sh (resumable), or publish your own with `quorum publish`.\n',
  );
}

console.log('[start] building the client (vite build)...');
try {
  execFileSync('npx', ['vite', 'build', '--config', 'client/vite.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
} catch {
  fail('building the client failed (see above). Did `npm ci` run?');
}
process.env['QUORUM_EDGE_PORT'] = String(port);
await import('../edge/scripts/dev.ts');
