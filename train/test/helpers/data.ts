import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const SAMPLES = resolve(__dirname, '../../../data/samples/dsb2018-fluo');

/** A small labelled data folder from the bundled samples: `train` per mode and `test` rows (from metadata.csv). */
export function makeDataDir(pick: { square256: number; small: number; test: number }): string {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-data-'));
  mkdirSync(join(dir, 'images'));
  mkdirSync(join(dir, 'masks'));
  const [header, ...rows] = readFileSync(join(SAMPLES, 'metadata.csv'), 'utf8').trim().split('\n');
  const chosen: string[] = [];
  const take = (pred: (cols: string[]) => boolean, n: number) => {
    for (const r of rows.filter((r) => pred(r.split(','))).slice(0, n)) chosen.push(r);
  };
  take((c) => c[1] === 'square256' && c[5] === 'train', pick.square256);
  take((c) => c[1] === 'small' && c[5] === 'train', pick.small);
  take((c) => c[1] === 'square256' && c[5] === 'test', pick.test);
  for (const r of chosen) {
    const id = r.split(',')[0]!;
    copyFileSync(join(SAMPLES, 'images', `${id}.png`), join(dir, 'images', `${id}.png`));
    copyFileSync(join(SAMPLES, 'masks', `${id}.png`), join(dir, 'masks', `${id}.png`));
  }
  writeFileSync(join(dir, 'metadata.csv'), `${[header, ...chosen].join('\n')}\n`);
  return dir;
}

/** Flags for a U-Net and schedule small enough that a member trains in about a second. */
export const TINY = [
  '--depth',
  '2',
  '--base-filters',
  '4',
  '--patch',
  '32',
  '--batch',
  '2',
  '--epochs',
  '2',
  '--steps',
  '2',
  '--tile',
  '64',
  '--halo',
  '8',
  '--folds',
  '2',
  '--mode-column',
  'acquisition',
  '--backend',
  'wasm',
];
