import { decodeImage, objectTable, SUMMARY_COLUMNS } from '@quorum/shared';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { batchArchive, batchEntry } from '../client/src/engine/batch';
import { uniqueStems } from '../client/src/ui/files';

/** The app's batch download, in Node: what each image keeps, and the ZIP the batch becomes. */

/** A finished result of `width` x `height` whose labels are `labels` (row-major). */
function result(width: number, height: number, labels: number[], pixelSize?: { x: number; y: number }) {
  const data = Uint32Array.from(labels);
  return {
    width,
    height,
    page: 0,
    count: new Set(labels.filter((l) => l > 0)).size,
    mask: Uint8Array.from(labels, (l) => (l > 0 ? 1 : 0)),
    labels: data,
    probability: new Float32Array(width * height),
    uncertainty: new Float32Array(width * height),
    objects: objectTable({ width, height, data }),
    ...(pixelSize ? { pixelSize: { ...pixelSize, source: 'imagej' as const } } : {}),
  };
}

const PROVENANCE = { ensemble: 'tiny 0.0.1', rule: 'mean', tta: false };
const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const rows = (csv: string) =>
  csv
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));

describe('uniqueStems', () => {
  it('keeps each stem once and numbers later files with the same stem, ignoring case', () => {
    expect(uniqueStems(['a.png', 'dir/a.tif', 'A.PNG', 'b.jpeg', 'a-2.png'])).toEqual([
      'a',
      'a-2',
      'A-3',
      'b',
      'a-2-2',
    ]);
  });
});

describe('batch archive', () => {
  // Image one: two objects (3 px and 1 px) in 4x3, calibrated 0.5 um by its file; image two: one object, no calibration.
  const one = result(4, 3, [1, 1, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0], { x: 0.5, y: 0.5 });
  const two = result(3, 2, [0, 3, 3, 0, 3, 3]);
  const items = [
    batchEntry(one, 'one.tif', 'one'),
    { image: 'notes.png', error: 'Could not read "notes.png" as an image' },
    batchEntry(two, 'sub/one.png', 'one-2'),
  ];

  it("holds every image's mask, labels and objects CSV, and a summary row per image in order", () => {
    const zip = batchArchive(items, PROVENANCE);
    expect(zip.name).toBe('quorum-batch.zip');
    const files = unzipSync(zip.bytes);
    expect(Object.keys(files).sort()).toEqual([
      'one-2.labels.png',
      'one-2.mask.png',
      'one-2.objects.csv',
      'one.labels.png',
      'one.mask.png',
      'one.objects.csv',
      'summary.csv',
    ]);
    const mask = decodeImage(files['one.mask.png']!);
    expect([...mask.data]).toEqual([...one.mask].map((m) => m * 255));
    expect([...decodeImage(files['one-2.labels.png']!).data]).toEqual([...two.labels]);
    // The file's own calibration gives image one physical columns; image two has none.
    expect(rows(text(files['one.objects.csv']))[0]).toContain('areaUm2');
    expect(rows(text(files['one-2.objects.csv']))[0]).not.toContain('areaUm2');

    const [header, a, failed, b] = rows(text(files['summary.csv']));
    expect(header).toEqual([...SUMMARY_COLUMNS]);
    const col = (c: (typeof SUMMARY_COLUMNS)[number]) => SUMMARY_COLUMNS.indexOf(c);
    expect([a![col('image')], failed![col('image')], b![col('image')]]).toEqual([
      'one.tif',
      'notes.png',
      'sub/one.png',
    ]);
    expect([a![col('objects')], b![col('objects')]]).toEqual(['2', '1']);
    expect(a![col('meanAreaUm2')]).toBe('0.500'); // (3 + 1) / 2 px x 0.25 um^2
    expect(b![col('meanAreaUm2')]).toBe('');
    expect(failed![failed!.length - 1]).toBe('"Could not read ""notes.png"" as an image"');
  });

  it('applies a pixel size typed after the batch to every image', () => {
    const files = unzipSync(batchArchive(items, PROVENANCE, { x: 2, y: 2, source: 'user' }).bytes);
    expect(rows(text(files['one-2.objects.csv']))[0]).toContain('areaUm2');
    const [, a, , b] = rows(text(files['summary.csv']));
    const col = SUMMARY_COLUMNS.indexOf('pixelSizeXUm');
    expect([a![col], b![col]]).toEqual(['2', '2']);
  });

  it('refuses two images with the same output prefix rather than drop one', () => {
    expect(() => batchArchive([items[0]!, items[0]!], PROVENANCE)).toThrow(/two files named one\.mask\.png/);
  });
});
