import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ROOT } from '../edge/scripts/wrangler-dev';

/**
 * The "stale local state" bad start (issue: product in two commands): `npm run edge:dev` (what `npm start` runs
 * after building) against a persisted state folder whose blobs were lost must stop with a clear message and the
 * way out, `npm run state:reset` must clear it, and the next start must be healthy again. Real wrangler dev,
 * real seed of the bundled default ensemble.
 */
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'quorum-state-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  out: string;
}

/** Runs an npm script with the state folder and port pointed at the test's; stops edge:dev once it is ready. */
async function npmRun(script: string, state: string, port: number): Promise<Run> {
  const child = spawn('npm', ['run', '--silent', script], {
    cwd: ROOT,
    env: { ...process.env, QUORUM_STATE_DIR: state, QUORUM_EDGE_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.includes('[edge:dev] ready')) process.kill(-child.pid!, 'SIGINT');
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 120_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, out };
}

describe('a stale or damaged local edge state', () => {
  it('is detected with the way out, reset by npm run state:reset, and rebuilt by the next start', async () => {
    const state = join(tmp, 'wrangler');
    const port = await freePort();
    const first = await npmRun('edge:dev', state, port);
    expect(first.out).toMatch(/\[seed\] dsb2018-fluo@[\w.]+: \d+ blob\(s\) uploaded, .*served intact/);
    expect(first.out).toContain('[edge:dev] ready');

    // Lose the stored blob bodies (R2's and the cache's) while their metadata stays: what an interrupted copy or
    // a manual cleanup leaves.
    for (const dir of [
      join(state, 'v3', 'r2', 'quorum-blobs', 'blobs'),
      join(state, 'v3', 'cache', 'default', 'blobs'),
    ]) {
      const files = await readdir(dir);
      if (dir.includes('r2')) expect(files.length).toBeGreaterThan(0);
      for (const f of files) await unlink(join(dir, f));
    }

    const damaged = await npmRun('edge:dev', state, port);
    expect(damaged.code, damaged.out).toBe(2);
    expect(damaged.out).toMatch(/local edge state in .* is stale or damaged: .*(manifest|blob)/);
    expect(damaged.out).toMatch(/Reset it: QUORUM_STATE_DIR=.* npm run state:reset/);
    expect(damaged.out).not.toMatch(/\n\s+at /); // a message, not a stack trace

    const reset = await npmRun('state:reset', state, port);
    expect(reset.code).toBe(0);
    expect(existsSync(state)).toBe(false);

    const again = await npmRun('edge:dev', state, port);
    expect(again.out).toMatch(/served intact/);
    expect(again.out).toContain('[edge:dev] ready');
  }, 300_000);
});
