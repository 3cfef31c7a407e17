// `npm run bench`: runs the train, edge and client benchmarks one after another (never in parallel: they would time
// each other), then merges their JSON into bench/results/bench.json with the machine, Node and browser versions,
// and writes a short Markdown summary next to it. See bench/README.md for how to read them.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const RESULTS = join(ROOT, 'bench/results');
const parts = ['train', 'edge', 'client'] as const;

const status: Record<string, string> = {};
for (const part of parts) {
  console.error(`[bench] ${part}...`);
  const run = spawnSync('npm', ['run', '--silent', `bench:${part}`], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  status[part] = run.status === 0 ? 'ok' : `failed (exit ${run.status ?? run.signal})`;
}

const read = (part: string) => {
  const path = join(RESULTS, `${part}.json`);
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null;
};
let chromium = 'not installed';
try {
  chromium = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim();
} catch {}
const merged = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadavg1m: loadavg()[0],
  },
  versions: { node: process.version, chromium },
  status,
  train: read('train'),
  edge: read('edge'),
  client: read('client'),
};
writeFileSync(join(RESULTS, 'bench.json'), `${JSON.stringify(merged, null, 2)}\n`);

const lines = [
  `# Benchmarks, ${merged.date}`,
  '',
  `${merged.machine.cores} x ${merged.machine.cpu}, ${merged.versions.node}, ${chromium}; 1-min load ${merged.machine.loadavg1m?.toFixed(2)} at the end.`,
  '',
];
for (const part of parts) lines.push(`- ${part}: ${status[part]}`);
const t = merged.train as {
  rows?: { net: string; backend: string; trainStepMs: number; forward512Ms: number }[];
} | null;
if (t?.rows) {
  lines.push(
    '',
    '| net | backend | train step, 4x256x256 (ms) | forward 512x512 (ms) |',
    '| --- | --- | ---: | ---: |',
  );
  for (const r of t.rows) lines.push(`| ${r.net} | ${r.backend} | ${r.trainStepMs} | ${r.forward512Ms} |`);
}
const e = merged.edge as {
  targets?: {
    target: string;
    phases: {
      name: string;
      requestsPerSecond: number;
      latencyMs: { p50: number; p99: number };
      errors: number;
    }[];
  }[];
} | null;
if (e?.targets) {
  lines.push(
    '',
    '| edge target | phase | req/s | p50 (ms) | p99 (ms) | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  );
  for (const t of e.targets)
    for (const p of t.phases)
      lines.push(
        `| ${t.target.split(': ')[1]} | ${p.name} | ${p.requestsPerSecond} | ${p.latencyMs.p50} | ${p.latencyMs.p99} | ${p.errors} |`,
      );
}
lines.push('', 'Full numbers: bench.json (and train.json, edge.json, client.json).');
writeFileSync(join(RESULTS, 'summary.md'), `${lines.join('\n')}\n`);
console.log(readFileSync(join(RESULTS, 'summary.md'), 'utf8'));
