import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseManifest } from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/cli';
import { makeDataDir, TINY } from './helpers/data';

/**
 * The README's cluster recipe, run as SLURM would: examples/slurm/train-array.sbatch once per array index (with
 * SLURM_ARRAY_TASK_ID set, tiny options through QUORUM_TRAIN_FLAGS), then `quorum assemble` over the parts.
 */
const ROOT = resolve(__dirname, '../..');
const SCRIPT = join(ROOT, 'examples/slurm/train-array.sbatch');

function task(index: number, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn('bash', [SCRIPT], {
      cwd: ROOT,
      env: { ...process.env, ...env, SLURM_ARRAY_TASK_ID: String(index) },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => done({ code, out }));
  });
}

describe('examples/slurm/train-array.sbatch', () => {
  it('trains one member per array task, past-the-end tasks do nothing, and assemble merges the parts', async () => {
    const data = makeDataDir({ square256: 2, small: 2, test: 1 });
    const out = join(mkdtempSync(join(tmpdir(), 'quorum-slurm-')), 'ens');
    const env = { DATA: data, OUT: out, FOLDS: '2', QUORUM_TRAIN_FLAGS: TINY.join(' ') };

    const listed: string[] = [];
    await main(
      [
        'train',
        '--data',
        data,
        '--mode-column',
        'acquisition',
        '--folds',
        '2',
        '--seed',
        '0',
        ...TINY,
        '--list-members',
      ],
      (s) => listed.push(s),
    );
    expect(listed).toEqual(['small-f0', 'small-f1', 'square256-f0', 'square256-f1']);

    // Two tasks at a time, as two cores allow; index 4 is past the end of the 4-member ensemble.
    const results = [];
    for (const pair of [[0, 1], [2, 3], [4]])
      results.push(...(await Promise.all(pair.map((i) => task(i, env)))));
    for (const r of results) expect(r.code, r.out).toBe(0);
    expect(results[4]!.out).toMatch(/task 4: the ensemble has fewer members; nothing to do/);
    for (const id of listed)
      expect(existsSync(join(`${out}.parts`, id, 'checkpoints', id, 'member.json'))).toBe(true);

    const log: string[] = [];
    const parts = listed.map((id) => join(`${out}.parts`, id));
    expect(await main(['assemble', '--out', out, ...parts], (s) => log.push(s))).toBe(0);
    const manifest = parseManifest(readFileSync(join(out, 'ensemble.json'), 'utf8'));
    expect(manifest.members.map((m) => m.id).sort()).toEqual(listed);
  }, 600_000);
});
