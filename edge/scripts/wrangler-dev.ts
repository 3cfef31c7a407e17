import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/**
 * `wrangler dev` as a managed child process, for the dev script, the end-to-end test and the benchmark.
 *
 * It is started in its own session (`detached` calls setsid) and stopped by signalling the whole process group:
 * wrangler runs workerd as a grandchild, and killing only the npx/wrangler PID leaves workerd serving the port.
 * Always bound to 127.0.0.1.
 */
export const ROOT = resolve(import.meta.dirname, '../..');

export interface WranglerDevOptions {
  /** Port to serve on; default: a free one. */
  port?: number;
  /** Where local R2/KV/cache state lives (`--persist-to`). */
  persistTo: string;
  /** Vars and secrets for the worker (`--var NAME:VALUE`), e.g. PUBLISH_TOKEN. */
  vars?: Record<string, string>;
  /** Static assets directory, overriding wrangler.toml's `[assets] directory`. */
  assetsDir?: string;
  /**
   * wrangler's log level. At `info` (the default) every request is logged through the Node process, which costs
   * several ms per request on a 2-core machine; the benchmark uses `warn`.
   */
  logLevel?: 'debug' | 'info' | 'log' | 'warn' | 'error' | 'none';
  /** Receives wrangler's output line by line (default: kept for error messages only). */
  onOutput?: (line: string) => void;
  readyTimeoutMs?: number;
}

export interface WranglerDev {
  url: string;
  port: number;
  child: ChildProcess;
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const port = options.port ?? (await freePort());
  // The inspector gets its own free port: the default (9229) would collide between parallel instances.
  const inspectorPort = await freePort();
  const args = [
    'dev',
    '--config',
    'wrangler.toml',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    options.persistTo,
    '--show-interactive-dev-session=false',
    '--log-level',
    options.logLevel ?? 'info',
  ];
  for (const [k, v] of Object.entries(options.vars ?? {})) args.push('--var', `${k}:${v}`);
  if (options.assetsDir) args.push('--assets', options.assetsDir);

  const child = spawn(resolve(ROOT, 'node_modules/.bin/wrangler'), args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // No Request.cf fetch: dev must work offline, and without this flag wrangler prints a DNS stack trace there.
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      NO_UPDATE_NOTIFIER: '1',
      FORCE_COLOR: '0',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    },
  });
  const tail: string[] = [];
  const onLine = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 60) tail.shift();
      options.onOutput?.(line);
    }
  };
  child.stdout!.on('data', onLine);
  child.stderr!.on('data', onLine);
  let exited = false;
  const exitedPromise = new Promise<void>((res) =>
    child.once('exit', () => {
      exited = true;
      res();
    }),
  );

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // Already gone.
    }
  };
  // If this process dies without calling stop (a crashed test run), do not leave workerd holding the port.
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);

  const stop = async () => {
    process.off('exit', onExit);
    if (exited) return;
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
    await exitedPromise;
    clearTimeout(timer);
    // workerd may outlive the wrangler process for a moment; make sure the group is gone.
    killGroup('SIGKILL');
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited before it was ready:\n${tail.join('\n')}`);
    try {
      const res = await fetch(`${url}/v1/ensembles`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev was not ready on ${url} in time:\n${tail.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { url, port, child, stop };
}
