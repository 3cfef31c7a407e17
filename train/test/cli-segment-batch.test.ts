import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SUMMARY_COLUMNS } from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import { runCapturingStderr } from './helpers/cli';

/** `quorum segment` on several images at once: the batch summary, bad files in a batch, and clashing names. */
const ROOT = resolve(import.meta.dirname, '../..');
const ENSEMBLE = join(ROOT, 'test/fixtures/tiny-ensemble');
const SAMPLES = join(ROOT, 'data/samples/dsb2018-fluo/images');

/** Parsed RFC 4180 text without quoted fields (the tests' file names have no commas). */
const table = (csv: string) =>
  csv
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));

describe('quorum segment on a batch of images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-batch-'));
  const samples = readdirSync(SAMPLES).slice(0, 2);
  const one = join(dir, 'one.png');
  const two = join(dir, 'sub', 'two.png');
  mkdirSync(join(dir, 'sub'));
  copyFileSync(join(SAMPLES, samples[0]!), one);
  copyFileSync(join(SAMPLES, samples[1]!), two);
  const text = join(dir, 'notes.png');
  writeFileSync(text, 'not an image\n');
  const missing = join(dir, 'missing.tif');

  it('segments the readable images, lists the bad ones with their reason, writes the summary, exits 2', async () => {
    const out = join(dir, 'out');
    const r = await runCapturingStderr([
      'segment',
      '--ensemble',
      ENSEMBLE,
      one,
      text,
      missing,
      two,
      '--out',
      out,
      '--pixel-size',
      '0.5',
      '--backend',
      'wasm',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/quorum segment: 2 of 4 images: could not be segmented/);
    const log = r.out.join('\n');
    expect(log).toContain(`${text}: skipped: ${text}: not a PNG, TIFF or JPEG file`);
    expect(log).toContain(`${missing}: skipped: ${missing}: cannot read (ENOENT)`);
    // The image after the bad ones was still segmented.
    for (const stem of ['one', 'two']) expect(existsSync(join(out, `${stem}.objects.csv`))).toBe(true);
    expect(readdirSync(out).filter((f) => f.startsWith('notes') || f.startsWith('missing'))).toEqual([]);

    const [header, ...rows] = table(readFileSync(join(out, 'summary.csv'), 'utf8'));
    expect(header).toEqual([...SUMMARY_COLUMNS]);
    const col = (c: (typeof SUMMARY_COLUMNS)[number]) => SUMMARY_COLUMNS.indexOf(c);
    expect(rows.map((row) => row[col('image')])).toEqual([one, text, missing, two]);
    expect(rows.map((row) => row[col('error')] !== '')).toEqual([false, true, true, false]);
    for (const [row, stem] of [
      [rows[0]!, 'one'],
      [rows[3]!, 'two'],
    ] as const) {
      // The summary agrees with the image's own object table.
      const objects = table(readFileSync(join(out, `${stem}.objects.csv`), 'utf8'));
      const names = objects[0]!;
      const areas = objects.slice(1).map((o) => Number(o[names.indexOf('area')]));
      const inside = objects.slice(1).filter((o) => o[names.indexOf('touchesBorder')] === '0').length;
      expect(row[col('output')]).toBe(stem);
      expect(Number(row[col('objects')])).toBe(areas.length);
      expect(areas.length).toBeGreaterThan(0);
      expect(Number(row[col('objectsInside')])).toBe(inside);
      const meanArea = areas.reduce((s, a) => s + a, 0) / areas.length;
      expect(Number(row[col('meanArea')])).toBeCloseTo(meanArea, 3);
      expect(Number(row[col('meanAreaUm2')])).toBeCloseTo(meanArea * 0.25, 3);
      const pixels = Number(row[col('width')]) * Number(row[col('height')]);
      expect(Number(row[col('areaFraction')])).toBeCloseTo((meanArea * areas.length) / pixels, 6);
      expect(Number(row[col('objectsPerMm2')])).toBeCloseTo((areas.length / (pixels * 0.25)) * 1e6, 2);
      expect(row[col('ensemble')]).toMatch(/^tiny/);
    }
  });

  it('refuses two inputs that would write the same outputs, before writing anything', async () => {
    const out = join(dir, 'clash');
    const clash = join(dir, 'sub', 'ONE.png');
    copyFileSync(one, clash);
    const r = await runCapturingStderr([
      'segment',
      '--ensemble',
      ENSEMBLE,
      one,
      clash,
      '--out',
      out,
      '--backend',
      'wasm',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${one} and ${clash}: would both write ONE.* in --out`);
    expect(existsSync(out)).toBe(false);
  });
});
