import { describe, expect, it } from 'vitest';
import { QuorumInputError } from '../src/errors';
import {
  imageStats,
  type LabelImage,
  objectTable,
  SUMMARY_COLUMNS,
  type SummaryRow,
  summaryToCsv,
} from '../src/postprocess';

/** Labels from rows of digits (spaces ignored), so the tests show the picture. */
function labels(...rows: string[]): LabelImage {
  const clean = rows.map((r) => r.replaceAll(' ', ''));
  return {
    width: clean[0]!.length,
    height: clean.length,
    data: Uint32Array.from(clean.join(''), (c) => Number(c)),
  };
}

// Three objects in a 6x5 field: 1 (4 px, on the left edge), 2 (1 px, inside), 3 (3 px, inside).
const FIELD = labels(
  '000000', //
  '110020',
  '110000',
  '003330',
  '000000',
);
const intensity = { width: 6, height: 5, data: Float32Array.from({ length: 30 }, (_, i) => i) };
const ROWS = objectTable(FIELD, { intensity });
const PROVENANCE = { ensemble: 'dsb2018-fluo 1.3.0', rule: 'mean', tta: false };

const parse = (csv: string) =>
  csv
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));

describe('imageStats', () => {
  it('counts, edge-free count, area fraction, mean and median area of an image by construction', () => {
    const s = imageStats(ROWS, 6, 5);
    expect(s.objects).toBe(3);
    expect(s.objectsInside).toBe(2);
    expect(s.areaFraction).toBeCloseTo(8 / 30, 12);
    expect(s.meanArea).toBeCloseTo(8 / 3, 12);
    expect(s.medianArea).toBe(3);
    // Means over objects of the objects' own values.
    const meanOf = (k: 'equivalentDiameter' | 'meanIntensity') =>
      ROWS.reduce((t, r) => t + (r[k] as number), 0) / ROWS.length;
    expect(s.meanEquivalentDiameter).toBeCloseTo(meanOf('equivalentDiameter'), 12);
    expect(s.meanIntensity).toBeCloseTo(meanOf('meanIntensity'), 12);
    // No uncertainty map was measured: no mean of it either.
    expect(s.meanUncertainty).toBeNull();
  });

  it('takes the middle pair for an even count, and gives nulls for an image without objects', () => {
    expect(imageStats(ROWS.slice(0, 2), 6, 5).medianArea).toBe(2.5);
    const empty = imageStats([], 6, 5);
    expect(empty).toMatchObject({
      objects: 0,
      objectsInside: 0,
      areaFraction: 0,
      meanArea: null,
      medianArea: null,
    });
    expect(empty.meanCircularity).toBeNull();
  });

  it('refuses an image size that is not positive whole pixels', () => {
    expect(() => imageStats(ROWS, 0, 5)).toThrow(QuorumInputError);
    expect(() => imageStats(ROWS, 6.5, 5)).toThrow(/image size/);
  });
});

describe('summaryToCsv', () => {
  const ok: SummaryRow = { image: 'a.png', output: 'a', page: 0, stats: imageStats(ROWS, 6, 5) };

  it('writes one row per image under the header, in order, with the provenance on every row', () => {
    const csv = summaryToCsv([ok, { ...ok, image: 'b.tif', output: 'b', page: 2 }], PROVENANCE);
    expect(csv.endsWith('\r\n')).toBe(true);
    const [header, a, b] = parse(csv);
    expect(header).toEqual([...SUMMARY_COLUMNS]);
    const at = (row: string[], c: (typeof SUMMARY_COLUMNS)[number]) => row[SUMMARY_COLUMNS.indexOf(c)];
    expect(at(a!, 'image')).toBe('a.png');
    expect(at(b!, 'page')).toBe('2');
    expect(at(a!, 'objects')).toBe('3');
    expect(at(a!, 'objectsInside')).toBe('2');
    expect(at(a!, 'areaFraction')).toBe((8 / 30).toFixed(6));
    expect(at(a!, 'medianArea')).toBe('3.000');
    expect(at(a!, 'meanUncertainty')).toBe('');
    // Without a pixel size the physical columns are empty, not zero.
    for (const c of ['pixelSizeXUm', 'meanAreaUm2', 'objectsPerMm2'] as const) expect(at(a!, c)).toBe('');
    expect([at(a!, 'ensemble'), at(a!, 'rule'), at(a!, 'tta'), at(a!, 'error')]).toEqual([
      'dsb2018-fluo 1.3.0',
      'mean',
      '0',
      '',
    ]);
  });

  it('converts areas and density with the pixel size, anisotropic pixels included', () => {
    const csv = summaryToCsv([{ ...ok, pixelSize: { x: 0.5, y: 0.25 } }], { ...PROVENANCE, tta: true });
    const [, row] = parse(csv);
    const at = (c: (typeof SUMMARY_COLUMNS)[number]) => row![SUMMARY_COLUMNS.indexOf(c)];
    expect([at('pixelSizeXUm'), at('pixelSizeYUm')]).toEqual(['0.5', '0.25']);
    // A pixel is 0.125 um^2; the field 30 px = 3.75 um^2, so 3 objects are 0.8 per um^2 = 800,000 per mm^2.
    expect(Number(at('meanAreaUm2'))).toBeCloseTo((8 / 3) * 0.125, 3);
    expect(Number(at('medianAreaUm2'))).toBeCloseTo(0.375, 3);
    expect(Number(at('objectsPerMm2'))).toBeCloseTo(800_000, 3);
    expect(at('tta')).toBe('1');
  });

  it('keeps a failed image as a row with its name and error, quoted where CSV needs it', () => {
    const csv = summaryToCsv(
      [ok, { image: 'bad, "copy".png', error: 'bad, "copy".png: not a PNG, TIFF or JPEG file' }],
      PROVENANCE,
    );
    const lines = csv.split('\r\n');
    expect(lines[2]).toBe(
      `"bad, ""copy"".png",${','.repeat(SUMMARY_COLUMNS.length - 6)},dsb2018-fluo 1.3.0,mean,0,"bad, ""copy"".png: not a PNG, TIFF or JPEG file"`,
    );
  });

  it('refuses a pixel size that is not positive, naming the image', () => {
    expect(() => summaryToCsv([{ ...ok, pixelSize: { x: 0, y: 1 } }], PROVENANCE)).toThrow(
      /pixelSize of a\.png/,
    );
  });
});
