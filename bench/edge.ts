import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startWranglerDev } from '../edge/scripts/wrangler-dev';
import { buildWorker, startEdge } from '../edge/test/harness';

/**
 * `npm run bench:edge`: a bounded load on the edge worker, on 127.0.0.1 only, against two targets: `wrangler dev`
 * (what `npm start` runs: wrangler's Node proxy in front of workerd) and the shipped bundle in workerd alone
 * (miniflare, requests straight to workerd's socket: the runtime Cloudflare runs, without the dev proxy).
 *
 * 2,000 GETs of a 1 MB weight shard with 32 in flight (browsers loading an ensemble, many times over), then 2,000
 * conditional GETs (If-None-Match -> 304, what a revisit costs), then 200 GETs one at a time (latency without
 * queueing, for reference). Latency is time to the last byte. Bounded in count
 * and in time (each request 10 s, the whole run 180 s). Results go to bench/results/edge.json (gitignored) and
 * stdout. Goal: 0 errors, p99 <= 50 ms (per target).
 *
 * The client is node:http with a keep-alive pool rather than fetch(): undici spends ~10 ms of CPU per 1 MB body,
 * which on a 2-core machine would be measured as server latency. CPU time per request of each process in wrangler's
 * group (the proxy and the worker's workerd) is read from /proc, so a result can be told apart from machine load.
 */
const REQUESTS = 2000;
const CONCURRENCY = 32;
const SHARD_BYTES = 1024 * 1024;
const WARMUP = 64;
const SERIAL_REQUESTS = 200;
const GOAL_P99_MS = 50;
const RUN_BUDGET_MS = 180_000;
const REQUEST_TIMEOUT_MS = 10_000;
const TOKEN = 'bench-token';

interface Phase {
  name: string;
  requests: number;
  concurrency: number;
  seconds: number;
  requestsPerSecond: number;
  megabytesPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  firstError?: string;
  /** CPU ms per request: each wrangler-group process by name, and this client. */
  cpuMsPerRequest: Record<string, number>;
}

const round = (x: number) => Math.round(x * 100) / 100;
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** utime+stime in ms of each process in a process group (Linux /proc; empty elsewhere). */
function groupCpu(pgid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
    const pids = execFileSync('pgrep', ['-g', String(pgid)])
      .toString()
      .trim()
      .split('\n');
    for (const pid of pids) {
      // This process is the load generator, reported as 'bench client'.
      if (Number(pid) === process.pid) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(`${name}:${pid}`, ((Number(f[11]) + Number(f[12])) * 1000) / hz);
      } catch {
        // Exited meanwhile.
      }
    }
  } catch {
    // No /proc or pgrep: report no CPU figures.
  }
  return out;
}

interface Reply {
  status: number;
  bytes: number;
}

function get(
  agent: Agent,
  url: URL,
  headers: Record<string, string>,
  hash = false,
): Promise<Reply & { sha?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, headers, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        let bytes = 0;
        const h = hash ? createHash('sha256') : undefined;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          h?.update(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, bytes, ...(h ? { sha: h.digest('hex') } : {}) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function load(
  name: string,
  count: number,
  concurrency: number,
  deadline: number,
  pgid: number,
  one: () => Promise<number>,
): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let bytes = 0;
  let next = 0;
  const cpuBefore = groupCpu(pgid);
  const selfBefore = process.cpuUsage();
  const start = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      if (Date.now() > deadline) {
        errors++;
        firstError ??= 'run budget exhausted';
        continue;
      }
      const t = performance.now();
      try {
        const n = await one();
        latencies.push(performance.now() - t);
        bytes += n;
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  const self = process.cpuUsage(selfBefore);
  const cpuMsPerRequest: Record<string, number> = {};
  for (const [proc, ms] of groupCpu(pgid)) {
    const used = ms - (cpuBefore.get(proc) ?? 0);
    if (used > 0) cpuMsPerRequest[proc] = round(used / count);
  }
  cpuMsPerRequest['bench client'] = round((self.user + self.system) / 1000 / count);
  latencies.sort((a, b) => a - b);
  return {
    name,
    requests: count,
    concurrency,
    seconds: round(seconds),
    requestsPerSecond: round(count / seconds),
    megabytesPerSecond: round(bytes / 1e6 / seconds),
    latencyMs: {
      p50: round(quantile(latencies, 0.5)),
      p90: round(quantile(latencies, 0.9)),
      p99: round(quantile(latencies, 0.99)),
      max: round(latencies.at(-1) ?? Number.NaN),
      mean: round(latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length)),
    },
    errors,
    ...(firstError ? { firstError } : {}),
    cpuMsPerRequest,
  };
}

interface Target {
  /** What serves the requests, in words for the report. */
  name: string;
  url: string;
  /** Process group whose processes' CPU is read per phase. */
  pgid: number;
  stop: () => Promise<void>;
}

/** wrangler dev as `npm start` runs it: wrangler's Node proxy in front of workerd, local R2/KV/cache on disk. */
async function wranglerTarget(tmp: string): Promise<Target> {
  const assets = join(tmp, 'assets');
  await mkdir(assets, { recursive: true });
  // Per-request logging goes through wrangler's Node process: a dev convenience, not part of the worker.
  const dev = await startWranglerDev({
    persistTo: join(tmp, 'state'),
    vars: { PUBLISH_TOKEN: TOKEN },
    assetsDir: assets,
    logLevel: 'warn',
  });
  return {
    name: 'wrangler dev (Node proxy -> workerd; local R2/KV/cache on disk)',
    url: dev.url,
    pgid: dev.child.pid!,
    stop: () => dev.stop(),
  };
}

/**
 * The shipped bundle (`wrangler deploy --dry-run`) in workerd through miniflare, requests straight to workerd's
 * socket: the runtime Cloudflare runs, without wrangler dev's proxy hop (in-memory R2/KV/cache).
 */
async function workerdTarget(): Promise<Target> {
  const bundle = await buildWorker();
  const edge = await startEdge(bundle.dir, { token: TOKEN });
  const url = edge.url.origin;
  // workerd is a child of this process, in this process group.
  const pgid = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[2]);
  return {
    name: 'workerd via miniflare (no proxy; in-memory R2/KV/cache)',
    url,
    pgid,
    stop: async () => {
      await edge.dispose();
      await bundle.cleanup();
    },
  };
}

async function measure(target: Target, deadline: number) {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(target.url))
    throw new Error(`refusing non-loopback target ${target.url}`);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const shard = new Uint8Array(randomBytes(SHARD_BYTES));
    const id = createHash('sha256').update(shard).digest('hex');
    const url = new URL(`${target.url}/v1/blobs/${id}`);
    const put = await fetch(url, {
      method: 'PUT',
      body: shard,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    if (put.status !== 201) throw new Error(`upload failed: ${put.status} ${await put.text()}`);

    const full = async () => {
      const r = await get(agent, url, {});
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      if (r.bytes !== SHARD_BYTES) throw new Error(`got ${r.bytes} bytes`);
      return r.bytes;
    };
    const conditional = async () => {
      const r = await get(agent, url, { 'If-None-Match': `"${id}"` });
      if (r.status !== 304) throw new Error(`status ${r.status}`);
      return 0;
    };
    const { pgid } = target;
    // Warm-up (fills the Workers cache and the connection pool), then one check of the bytes; neither is timed.
    await load('warmup', WARMUP, 8, deadline, pgid, full);
    const check = await get(agent, url, {}, true);
    if (check.sha !== id) throw new Error('the edge served bytes that do not hash to the blob id');
    const phases = [
      await load('GET 1 MB blob', REQUESTS, CONCURRENCY, deadline, pgid, full),
      await load('conditional GET (304)', REQUESTS, CONCURRENCY, deadline, pgid, conditional),
      // Not part of the goal: the same GET with no queueing, i.e. the latency of one request on its own.
      await load('GET 1 MB blob, 1 in flight', SERIAL_REQUESTS, 1, deadline, pgid, full),
    ];
    const goalPhases = phases.filter((p) => p.concurrency === CONCURRENCY);
    const errors = phases.reduce((s, p) => s + p.errors, 0);
    const worstP99 = Math.max(...goalPhases.map((p) => p.latencyMs.p99));
    return {
      target: `${target.url}/v1/blobs/<sha256>: ${target.name}`,
      phases,
      met: { errors: errors === 0, p99: worstP99 <= GOAL_P99_MS },
    };
  } finally {
    agent.destroy();
  }
}

async function main() {
  const tmp = await mkdtemp(join(tmpdir(), 'quorum-bench-edge-'));
  const loadBefore = loadavg()[0]!;
  const targets = [];
  try {
    for (const start of [wranglerTarget.bind(null, tmp), workerdTarget]) {
      const target = await start();
      try {
        targets.push(await measure(target, Date.now() + RUN_BUDGET_MS));
      } finally {
        await target.stop();
      }
    }
    const report = {
      benchmark: 'edge',
      date: new Date().toISOString(),
      command: 'npm run bench:edge',
      wranglerLogLevel: 'warn',
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        // Other work on the machine skews latency: the 1-minute load average before and after the run.
        loadAverage: { before: round(loadBefore), after: round(loadavg()[0]!) },
      },
      blobBytes: SHARD_BYTES,
      goal: { errors: 0, p99Ms: GOAL_P99_MS },
      targets,
    };
    const out = join(ROOT, 'bench/results/edge.json');
    await mkdir(join(ROOT, 'bench/results'), { recursive: true });
    await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(JSON.stringify(report, null, 2));
    console.error(`wrote ${out}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
