import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../edge/scripts/wrangler-dev';

export const CLIENT_DIST = join(ROOT, 'client/dist');

/**
 * `vite build` of the client into client/dist, as `npm run build:client` does, so the browser tests run exactly
 * what the edge would serve. QUORUM_CLIENT_PREBUILT=1 reuses an existing build (for quick local reruns).
 */
export async function buildClient(): Promise<void> {
  if (process.env['QUORUM_CLIENT_PREBUILT'] === '1' && existsSync(join(CLIENT_DIST, 'index.html'))) return;
  await promisify(execFile)(
    join(ROOT, 'node_modules/.bin/vite'),
    ['build', '--config', 'client/vite.config.ts'],
    {
      cwd: ROOT,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
}
