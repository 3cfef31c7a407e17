import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeImage, manifestFiles, OBJECT_COLUMNS, PHYSICAL_COLUMNS, parseManifest } from '@quorum/shared';
import { describe, expect, it } from 'vitest';
import { MIN_AREA_CANDIDATES, SPLIT_CANDIDATES } from '../src/ensemble/tune-split';
import { expectCliError, run, runCapturingStderr } from './helpers/cli';
import { makeDataDir, TINY } from './helpers/data';

const BIN = resolve(__dirname, '../bin/quorum.js');

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

describe('quorum train / assemble / segment, end to end on tiny members', () => {
  const data = makeDataDir({ square256: 2, small: 2, test: 1 });

  it('trains two modes x two folds, resumes skipping finished members, exports, and segments', async () => {
    const out = join(tmp('quorum-ens-'), 'ens');
    const first = await run(['train', '--data', data, '--out', out, ...TINY, '--members', 'small-f0']);
    expect(first.code).toBe(0);
    expect(first.out.join('\n')).toMatch(/3 model\(s\) not trained yet/);
    expect(existsSync(join(out, 'ensemble.json'))).toBe(false); // not finished: nothing looks like an ensemble
    // The touch targets are on by default and part of the recipe a rerun must match.
    expect(JSON.parse(readFileSync(join(out, 'train-config.json'), 'utf8')).touch).toEqual({
      gap: 3,
      borderWeight: { w0: 10, sigma: 5 },
    });

    const second = await run(['train', '--data', data, '--out', out, ...TINY, '--name', 'tiny']);
    expect(second.code).toBe(0);
    const log = second.out.join('\n');
    expect(log).toMatch(/member small-f0: already trained, skipping/);
    expect(log).toMatch(/member square256-f1: done/);
    expect(log).toMatch(
      /report\.md: ensemble Dice [\d.]+, object F1 [\d.]+ \(of \d+ true objects: \d+ matched, \d+ merged, \d+ split, \d+ missed, \d+ misfit; \d+ spurious predictions\)/,
    );
    const manifest = parseManifest(readFileSync(join(out, 'ensemble.json'), 'utf8'));
    expect(manifest.members.map((m) => m.id).sort()).toEqual([
      'small-f0',
      'small-f1',
      'square256-f0',
      'square256-f1',
    ]);
    expect(manifest.partition.modeSource).toEqual({ kind: 'column', column: 'acquisition' });
    expect(manifest.quantization.variants.map((v) => v.dtype)).toEqual(['float32', 'float16', 'uint8']);
    for (const v of manifest.quantization.variants) expect(v.diceDelta).not.toBeNull();
    expect(manifest.metrics?.images).toBe(1);
    for (const f of manifestFiles(manifest)) expect(readFileSync(join(out, f.path)).byteLength).toBe(f.bytes);
    // The report (test split present): one table, figures, and no baseline comparison without --baselines.
    const report = JSON.parse(readFileSync(join(out, 'report', 'report.json'), 'utf8'));
    expect(report.rows.map((r: { name: string }) => r.name)).toContain('mode-fold ensemble (union, TTA)');
    expect(report.verdict.singleDiceMean).toBeNull();
    // The cost section: every member's training time, and a member's forward time on the report's backend.
    expect(report.cost.training.members).toBe(4);
    expect(report.cost.training.membersWithCpu).toBe(4);
    expect(report.cost.forward512.backend).toBe('wasm');
    expect(readFileSync(join(out, 'report', 'report.md'), 'utf8')).toMatch(
      /\| mode-fold ensemble \(mean\) \| 4 \|/,
    );
    expect(existsSync(join(out, 'report', 'figures', 'scores.png'))).toBe(true);
    // Instance splitting was chosen on out-of-fold predictions of the training images, recorded, and is what the
    // manifest ships: each image went through the other mode's two members and its own held-out fold's member.
    const choice = JSON.parse(readFileSync(join(out, 'split-choice.json'), 'utf8'));
    expect(choice.source).toBe('out-of-fold predictions');
    expect(choice.images).toBe(4);
    // Members without a contour output: every candidate but the contour splits is scored.
    const scored = SPLIT_CANDIDATES.filter((c) => c.method !== 'contour-watershed').length;
    expect(choice.scores).toHaveLength((1 + scored) * MIN_AREA_CANDIDATES.length);
    expect(choice.minAreaFrom).toBe('chosen');
    for (const [id, members] of Object.entries(choice.members as Record<string, string[]>)) {
      expect(members).toHaveLength(3);
      for (const m of members) {
        const record = JSON.parse(readFileSync(join(out, 'checkpoints', m, 'member.json'), 'utf8'));
        expect(record.trainIds).not.toContain(id);
      }
    }
    expect(manifest.postprocess.split ?? null).toEqual(choice.chosen);
    expect(manifest.postprocess.minArea).toBe(choice.minArea);
    expect(readFileSync(join(out, 'report', 'report.md'), 'utf8')).toMatch(
      /Objects: .*chosen on out-of-fold ensemble predictions for 4 training images/,
    );
    // Every member trains only on its own mode's other fold.
    const partition = JSON.parse(readFileSync(join(out, 'partition.json'), 'utf8'));
    expect(partition.modes.map((m: { name: string }) => m.name)).toEqual(['small', 'square256']);

    // Rerunning the finished command re-exports the same members: the manifest stays byte for byte the same
    // (same `created`), so an already published version is not contradicted.
    const before = readFileSync(join(out, 'ensemble.json'), 'utf8');
    // An earlier report's overlay that this one does not pick goes: the folder holds only what report.md shows.
    writeFileSync(join(out, 'report', 'figures', 'stale-overlay.png'), 'x');
    expect((await run(['train', '--data', data, '--out', out, ...TINY, '--name', 'tiny'])).code).toBe(0);
    expect(readFileSync(join(out, 'ensemble.json'), 'utf8')).toBe(before);
    const rewritten = JSON.parse(readFileSync(join(out, 'report', 'report.json'), 'utf8'));
    const overlays = readdirSync(join(out, 'report', 'figures')).filter((f) => f.endsWith('-overlay.png'));
    expect(overlays.map((f) => `figures/${f}`).sort()).toEqual(
      rewritten.figures.filter((f: string) => f.endsWith('-overlay.png')).sort(),
    );
    expect(overlays.length).toBeGreaterThan(0);

    // quorum evaluate re-scores the exported ensemble on any split, into another folder, with the same report.
    const rescored = join(tmp('quorum-eval-'), 'report');
    const evaluated = await run([
      'evaluate',
      '--ensemble',
      out,
      '--data',
      data,
      '--split',
      'all',
      '--report',
      rescored,
    ]);
    expect(evaluated.code, evaluated.out.join('\n')).toBe(0);
    expect(evaluated.out.join('\n')).toMatch(
      /report\.md: ensemble Dice [\d.]+, object F1 [\d.]+ \(of \d+ true objects/,
    );
    const rescoredReport = JSON.parse(readFileSync(join(rescored, 'report.json'), 'utf8'));
    expect(rescoredReport.data.split).toBe('all');
    expect(rescoredReport.data.images).toBeGreaterThan(report.data.images);
    expect(readFileSync(join(rescored, 'report.md'), 'utf8')).toMatch(
      /## Object errors \(summed over images\)/,
    );
    await expectCliError(
      ['evaluate', '--ensemble', out, '--data', data, '--split', 'holdout', '--report', rescored],
      /--split: no rows of .* have split=holdout/,
    );

    // --export-tile re-exports the same members with larger windows: nothing retrains, the members keep what they
    // were validated with (--tile), and the manifest and the saved config carry the new tile.
    const records = () =>
      manifest.members.map((m) => readFileSync(join(out, 'checkpoints', m.id, 'member.json'), 'utf8'));
    const recordsBefore = records();
    const wide = await run([
      'train',
      '--data',
      data,
      '--out',
      out,
      ...TINY,
      '--name',
      'tiny',
      '--export-tile',
      '128',
    ]);
    expect(wide.code).toBe(0);
    expect(wide.out.join('\n')).not.toMatch(/: done/);
    expect(records()).toEqual(recordsBefore);
    const wideManifest = parseManifest(readFileSync(join(out, 'ensemble.json'), 'utf8'));
    expect(wideManifest.tiling).toEqual({ ...manifest.tiling, tile: 128 });
    expect(manifest.tiling.tile).toBe(64);
    expect(JSON.parse(readFileSync(join(out, 'train-config.json'), 'utf8'))).toMatchObject({
      tiling: { tile: 64 },
      exportTile: 128,
    });

    const segOut = tmp('quorum-seg-');
    const image = join(data, 'images', readdirSync(join(data, 'images'))[0]!);
    const seg = await run(['segment', '--ensemble', out, image, '--out', segOut, '--backend', 'wasm']);
    expect(seg.code).toBe(0);
    const files = readdirSync(segOut)
      .filter((f) => f !== 'summary.csv')
      .map((f) => f.replace(/^[^.]+\./, ''))
      .sort();
    expect(files).toEqual(['labels.png', 'mask.png', 'objects.csv', 'probability.tif', 'uncertainty.tif']);
    expect(existsSync(join(segOut, 'summary.csv'))).toBe(true);
    const mask = decodeImage(
      new Uint8Array(readFileSync(join(segOut, readdirSync(segOut).find((f) => f.endsWith('.mask.png'))!))),
    );
    const src = decodeImage(new Uint8Array(readFileSync(image)));
    expect([mask.width, mask.height]).toEqual([src.width, src.height]);
    const csv = readFileSync(join(segOut, readdirSync(segOut).find((f) => f.endsWith('.csv'))!), 'utf8');
    expect(csv.split('\r\n')[0]).toBe(OBJECT_COLUMNS.join(','));

    // With a pixel size, the same objects get physical columns: area 0.25 um^2 per pixel.
    const calibrated = tmp('quorum-seg-um-');
    const segUm = await run([
      'segment',
      '--ensemble',
      out,
      image,
      '--out',
      calibrated,
      '--pixel-size',
      '0.5',
      '--backend',
      'wasm',
    ]);
    expect(segUm.code).toBe(0);
    expect(segUm.out.join('\n')).toContain('pixel 0.5 um (given)');
    const csvUm = readFileSync(
      join(calibrated, readdirSync(calibrated).find((f) => f.endsWith('.csv'))!),
      'utf8',
    );
    const [header, firstRow] = csvUm.split('\r\n');
    expect(header).toBe(`${OBJECT_COLUMNS.join(',')},${PHYSICAL_COLUMNS.join(',')}`);
    // The same objects as without a pixel size, one row each.
    expect(csvUm.split('\r\n')).toHaveLength(csv.split('\r\n').length);
    if (firstRow) {
      const cells = firstRow.split(',');
      expect(Number(cells[OBJECT_COLUMNS.length])).toBeCloseTo(Number(cells[1]) * 0.25, 3);
    }

    // A 3-channel image: its luminance is segmented, and each channel measured under every object.
    const rgbOut = tmp('quorum-seg-rgb-');
    const rgb = join(import.meta.dirname, '../../shared/test/fixtures/images/tiff-rgb8-deflate.tif');
    expect((await run(['segment', '--ensemble', out, rgb, '--out', rgbOut, '--backend', 'wasm'])).code).toBe(
      0,
    );
    const csvRgb = readFileSync(join(rgbOut, 'tiff-rgb8-deflate.objects.csv'), 'utf8');
    expect(csvRgb.split('\r\n')[0]).toBe(
      `${OBJECT_COLUMNS.join(',')},${[0, 1, 2].map((c) => `meanIntensityC${c},integratedIntensityC${c}`).join(',')}`,
    );

    // A tampered weight file is refused by name.
    const shard = join(out, manifest.members[0]!.files[1]!.path);
    const bytes = readFileSync(shard);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(shard, bytes);
    const bad = await run(['segment', '--ensemble', out, image, '--out', segOut, '--backend', 'wasm']);
    expect(bad.code).toBe(2);
  });

  it('--contour trains members with a contour output, offers the contour split, and segments with it', async () => {
    const out = join(tmp('quorum-contour-'), 'ens');
    const args = [
      'train',
      '--data',
      data,
      '--out',
      out,
      ...TINY,
      '--epochs',
      '1',
      '--steps',
      '1',
      '--contour',
    ];
    const r = await run(args);
    expect(r.code, r.out.join('\n')).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'ensemble.json'), 'utf8'));
    expect(manifest.architecture.contour).toBe(true);
    const choice = JSON.parse(readFileSync(join(out, 'split-choice.json'), 'utf8'));
    expect(choice.source).toBe('out-of-fold predictions');
    expect(
      choice.scores.some(
        (s: { split: { method: string } | null }) => s.split?.method === 'contour-watershed',
      ),
    ).toBe(true);
    // Fixing the contour split re-exports with it; segment then writes the contour map too.
    const fixed = await run([...args, '--split', 'contour=0.5', '--version', '1.0.1']);
    expect(fixed.code, fixed.out.join('\n')).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'ensemble.json'), 'utf8')).postprocess.split).toEqual({
      method: 'contour-watershed',
      core: 0.5,
    });
    const segOut = tmp('quorum-seg-contour-');
    const image = join(data, 'images', readdirSync(join(data, 'images'))[0]!);
    const seg = await run(['segment', '--ensemble', out, image, '--out', segOut, '--backend', 'wasm']);
    expect(seg.code, seg.out.join('\n')).toBe(0);
    const contour = readdirSync(segOut).find((f) => f.endsWith('.contour.tif'));
    expect(contour).toBeDefined();
    const map = decodeImage(new Uint8Array(readFileSync(join(segOut, contour!))));
    const src = decodeImage(new Uint8Array(readFileSync(image)));
    expect([map.width, map.height]).toEqual([src.width, src.height]);
  });

  it('assembles members trained in separate folders (scale-out) into one ensemble', async () => {
    const root = tmp('quorum-parts-');
    const a = await run([
      'train',
      '--data',
      data,
      '--out',
      join(root, 'a'),
      ...TINY,
      '--members',
      'small-f0,small-f1,square256-f0',
    ]);
    const b = await run([
      'train',
      '--data',
      data,
      '--out',
      join(root, 'b'),
      ...TINY,
      '--members',
      'square256-f1',
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const merged = await run([
      'assemble',
      '--out',
      join(root, 'all'),
      join(root, 'a'),
      join(root, 'b'),
      '--name',
      'merged',
      '--backend',
      'wasm',
      '--export-tile',
      '96',
    ]);
    expect(merged.code).toBe(0);
    const manifest = parseManifest(readFileSync(join(root, 'all', 'ensemble.json'), 'utf8'));
    expect(manifest.name).toBe('merged');
    expect(manifest.tiling.tile).toBe(96);
    expect(manifest.members).toHaveLength(4);
    expect(merged.out.join('\n')).toMatch(/Objects: .*chosen on out-of-fold ensemble predictions/);
    // A part trained with other options is refused.
    const c = await run([
      'train',
      '--data',
      data,
      '--out',
      join(root, 'c'),
      ...TINY,
      '--seed',
      '5',
      '--members',
      'small-f0',
    ]);
    expect(c.code).toBe(0);
    const refused = await run(['assemble', '--out', join(root, 'all'), join(root, 'c')]);
    expect(refused.code).toBe(2);
  });

  it('--baselines trains the pooled single U-Nets (3 seeds) and a random K-fold ensemble, and the report compares them', async () => {
    const out = join(tmp('quorum-base-'), 'ens');
    const r = await run([
      'train',
      '--data',
      data,
      '--out',
      out,
      ...TINY,
      '--epochs',
      '1',
      '--steps',
      '1',
      '--baselines',
    ]);
    expect(r.code, r.out.join('\n')).toBe(0);
    for (const seed of [0, 1, 2])
      expect(
        existsSync(join(out, 'baselines', `pooled-s${seed}`, 'checkpoints', 'all-f0', 'member.json')),
      ).toBe(true);
    const report = JSON.parse(readFileSync(join(out, 'report', 'report.json'), 'utf8'));
    const single = report.rows.find((row: { seeds?: unknown[]; tta: boolean }) => row.seeds && !row.tta);
    expect(single.seeds).toHaveLength(3);
    expect(report.rows.some((row: { group: string }) => row.group === 'random-kfold')).toBe(true);
    expect(typeof report.verdict.beatsSingleByTwoStd).toBe('boolean');
    const md = readFileSync(join(out, 'report', 'report.md'), 'utf8');
    expect(md).toMatch(/Pooled single U-Net: Dice [\d.]+ \(seed-to-seed std/);
    // Where each system's object errors are: every true object in one class, for every system without TTA.
    const shown = report.rows.filter((row: { tta: boolean }) => !row.tta);
    for (const row of shown) {
      const e = row.overall.errors;
      expect(e.matched + e.merged + e.split + e.missed + e.misfit).toBeCloseTo(e.truth, 6);
      expect(md).toContain(`| ${row.name} | ${Number.isInteger(e.truth) ? e.truth : e.truth.toFixed(1)} |`);
    }
    expect(shown.find((row: { name: string }) => row.name.startsWith('mode-fold')).overall.errors.truth).toBe(
      single.overall.errors.truth,
    );
    expect(md).toMatch(/## Object errors \(summed over images\)/);
  });

  it('--members names baselines too, so they scale out like members', async () => {
    const out = join(tmp('quorum-base-part-'), 'ens');
    const args = ['train', '--data', data, '--out', out, ...TINY, '--epochs', '1', '--steps', '1'];
    const r = await run([...args, '--baselines', '--members', 'pooled-s1,random-kfold/all-f3']);
    expect(r.code, r.out.join('\n')).toBe(0);
    const trained = (dir: string, id: string) =>
      existsSync(join(out, 'baselines', dir, 'checkpoints', id, 'member.json'));
    expect(trained('pooled-s1', 'all-f0')).toBe(true);
    expect(trained('pooled-s0', 'all-f0')).toBe(false);
    expect(trained('random-kfold', 'all-f3')).toBe(true);
    expect(trained('random-kfold', 'all-f0')).toBe(false);
    expect(existsSync(join(out, 'checkpoints'))).toBe(false);
    expect(r.out.join('\n')).toMatch(/not trained yet: .*pooled-s0.*export waits/);
    expect(existsSync(join(out, 'ensemble.json'))).toBe(false);
  });

  it('--scale-jitter is part of the recipe: recorded when on, absent when off, and a rerun must match it', async () => {
    const out = join(tmp('quorum-scale-'), 'ens');
    const base = [
      'train',
      '--data',
      data,
      '--out',
      out,
      ...TINY,
      '--epochs',
      '1',
      '--steps',
      '1',
      '--no-export',
    ];
    const first = await run([...base, '--members', 'small-f0', '--scale-jitter', '0.25']);
    expect(first.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'train-config.json'), 'utf8')).augment).toEqual({
      geometric: true,
      intensityJitter: 0.1,
      scaleJitter: 0.25,
    });
    const without = await runCapturingStderr([...base, '--members', 'small-f1']);
    expect(without.code).not.toBe(0);
    expect(without.stderr).toMatch(/trained with other options \(augment\.scaleJitter differ\)/);
    const off = join(tmp('quorum-scale-off-'), 'ens');
    const plain = await run([
      ...base.slice(0, 4),
      off,
      ...base.slice(5),
      '--members',
      'small-f0',
      '--scale-jitter',
      '0',
    ]);
    expect(plain.code).toBe(0);
    expect(JSON.parse(readFileSync(join(off, 'train-config.json'), 'utf8')).augment).toEqual({
      geometric: true,
      intensityJitter: 0.1,
    });
  });

  it('after kill -9 mid-member, a rerun resumes that member from its last epoch', async () => {
    const out = join(tmp('quorum-kill-'), 'ens');
    const args = [
      'train',
      '--data',
      data,
      '--out',
      out,
      ...TINY,
      '--epochs',
      '40',
      '--members',
      'square256-f0',
    ];
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const state = join(out, '.work', 'square256-f0', 'state.json');
    const deadline = Date.now() + 90_000;
    while (!existsSync(state) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(state)).toBe(true);
    const again = await run(args);
    expect(again.code).toBe(0);
    expect(again.out.join('\n')).toMatch(/member square256-f0: resuming after epoch \d+/);
    expect(existsSync(join(out, 'checkpoints', 'square256-f0', 'member.json'))).toBe(true);
  });
});

describe('quorum train refuses bad data, naming the file', () => {
  it('a mask without an image, an image without a mask, a size mismatch, a mode too small, a foreign --out', async () => {
    const { rmSync, copyFileSync, readdirSync: ls, mkdirSync } = await import('node:fs');
    const out = () => join(tmp('quorum-out-'), 'o');
    const noMask = makeDataDir({ square256: 2, small: 2, test: 0 });
    const victim = ls(join(noMask, 'masks'))[0]!;
    rmSync(join(noMask, 'masks', victim));
    await expectCliError(
      ['train', '--data', noMask, '--out', out(), ...TINY],
      new RegExp(`images/${victim.replace('.', '\\.')}: has no mask`),
    );

    const noImage = makeDataDir({ square256: 2, small: 2, test: 0 });
    writeFileSync(
      join(noImage, 'masks', 'ghost.png'),
      readFileSync(join(noImage, 'masks', ls(join(noImage, 'masks'))[0]!)),
    );
    await expectCliError(
      ['train', '--data', noImage, '--out', out(), ...TINY],
      /masks\/ghost\.png: has no image/,
    );

    const mismatch = makeDataDir({ square256: 2, small: 2, test: 0 });
    const [m0, m1] = ls(join(mismatch, 'masks')).sort();
    const small = ls(join(mismatch, 'masks')).find((f) => f.startsWith('4'))!;
    copyFileSync(join(mismatch, 'masks', small), join(mismatch, 'masks', m0 === small ? m1! : m0!));
    await expectCliError(
      ['train', '--data', mismatch, '--out', out(), ...TINY],
      /masks\/.*\.png: is \d+x\d+ but its image .* is \d+x\d+/,
    );

    const tooFew = makeDataDir({ square256: 1, small: 2, test: 0 });
    await expectCliError(
      ['train', '--data', tooFew, '--out', out(), ...TINY],
      /mode "square256": has 1 training image/,
    );

    const foreign = out();
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'notes.txt'), 'my thesis');
    const good = makeDataDir({ square256: 2, small: 2, test: 0 });
    await expectCliError(
      ['train', '--data', good, '--out', foreign, ...TINY],
      /is not empty and holds no Quorum train-config\.json/,
    );
  });
});

describe('quorum CLI errors: exit 2 and one line naming the problem', () => {
  const data = makeDataDir({ square256: 2, small: 2, test: 0 });

  it.each([
    [['train', '--out', '/tmp/x'], /--data: is required/],
    [['train', '--data', '/nonexistent', '--out', '/tmp/x'], /\/nonexistent\/images: no images folder/],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--backend', 'tpu'],
      /--backend: must be one of auto, tfjs-node-gpu, tfjs-node, wasm, cpu/,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--backend', 'tfjs-node-gpu'],
      /Backend 'tfjs-node-gpu' is unavailable: .*install/i,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--mode-column', 'stain'],
      /--mode-column: unknown metadata column "stain" \(known columns: id, acquisition/,
    ],
    [['train', '--data', 'DATA', '--out', 'OUT', '--folds', '1'], /--folds: must be an integer in 2\.\.20/],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--patch', '30', '--depth', '2'],
      /--patch: 30 must be a multiple of 2\^depth = 4/,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--depth', '2', '--export-tile', '66'],
      /--export-tile: 66 must be a multiple of 2\^depth = 4/,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--halo', '16', '--export-tile', '32'],
      /--export-tile: must be an integer in 33\.\.2048/,
    ],
    [['train', '--data', 'DATA', '--out', 'OUT', '--bogus'], /Unknown option '--bogus'/],
    [['train', '--data', 'DATA', '--out', 'OUT', '--touch-gap', '4'], /--touch-gap: 4 must be odd/],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--scale-jitter', '1.5'],
      /--scale-jitter: must be a number in 0\.\.1 \(got "1\.5"\)/,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--border-weight', '10,5,1'],
      /--border-weight: "10,5,1"; want W or W,SIGMA/,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--border-weight', '10,0'],
      /--border-weight sigma: must be a number in 0\.5\.\.100/,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--split', 'watershed'],
      /--split: "watershed"; want auto, none, h=H,sigma=S\[,core=C\], seed=P or contour=C/,
    ],
    [['train', '--data', 'DATA', '--out', 'OUT', '--split', 'h=0,sigma=1'], /--split\.h: is 0/],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--split', 'contour=0.5'],
      /--split: a contour watershed needs members with a contour output; train them with --contour/,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--min-area', '1.5'],
      /--min-area: "1\.5"; want a whole number of pixels >= 0/,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--members', 'pooled-s0'],
      /--members: "pooled-s0" is a baseline; add --baselines/,
    ],
    [
      ['train', '--data', 'DATA', '--out', 'OUT', '--baselines', '--members', 'pooled-s7'],
      /--members: unknown baseline "pooled-s7"/,
    ],
    [
      ['segment', '--ensemble', '/nonexistent', 'x.png', '--out', '/tmp/y', '--backend', 'wasm'],
      /ensemble\.json: not found/,
    ],
    [
      ['segment', '--ensemble', '/nonexistent', 'x.png', '--out', '/tmp/y', '--pixel-size', '0'],
      /--pixel-size: must be a number in 0.0001..10000/,
    ],
    [['nonsense'], /unknown command "nonsense"/],
  ])('%j', async (args, message) => {
    await expectCliError(
      args.map((a) => (a === 'DATA' ? data : a === 'OUT' ? join(tmp('quorum-out-'), 'o') : a)),
      message,
    );
  });
});
