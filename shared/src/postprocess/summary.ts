import { QuorumInputError } from '../errors';
import { physicalScale } from '../image/calibration';
import { csvField, formatFixed } from './csv';
import type { ObjectRow } from './objects';

/**
 * One image of a batch, reduced to the figures a microscopist compares across images (counts, densities, sizes),
 * computed from that image's object table. Means are over objects; null when the image has no objects (or, for
 * the intensity and uncertainty means, when the table has no such column).
 */
export interface ImageStats {
  width: number;
  height: number;
  objects: number;
  /** Objects with no pixel on the image's edge: the count to use for densities corrected for cut-off nuclei. */
  objectsInside: number;
  /** Summed object area over the image area: the fraction of the field covered by objects (confluence). */
  areaFraction: number;
  meanArea: number | null;
  medianArea: number | null;
  meanEquivalentDiameter: number | null;
  meanCircularity: number | null;
  meanIntensity: number | null;
  meanUncertainty: number | null;
}

/** Summarises one image's object table (`objectTable` rows) for an image of `width` x `height` pixels. */
export function imageStats(rows: readonly ObjectRow[], width: number, height: number): ImageStats {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new QuorumInputError(
      'invalid-value',
      'image size',
      `is ${width}x${height}; want positive integers`,
    );
  }
  const areas = rows.map((r) => r.area).sort((a, b) => a - b);
  const total = areas.reduce((s, a) => s + a, 0);
  const n = rows.length;
  const median = n === 0 ? null : n % 2 === 1 ? areas[(n - 1) / 2]! : (areas[n / 2 - 1]! + areas[n / 2]!) / 2;
  return {
    width,
    height,
    objects: n,
    objectsInside: rows.filter((r) => r.touchesBorder === 0).length,
    areaFraction: total / (width * height),
    meanArea: n === 0 ? null : total / n,
    medianArea: median,
    meanEquivalentDiameter: meanOf(rows.map((r) => r.equivalentDiameter)),
    meanCircularity: meanOf(rows.map((r) => r.circularity)),
    meanIntensity: meanOf(rows.map((r) => r.meanIntensity)),
    meanUncertainty: meanOf(rows.map((r) => r.meanUncertainty)),
  };
}

/** Mean of the non-null values; null when there are none. */
function meanOf(values: readonly (number | null)[]): number | null {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (v === null) continue;
    sum += v;
    count++;
  }
  return count === 0 ? null : sum / count;
}

/** One line of a batch summary: an image that was segmented, or one that could not be (with the reason). */
export type SummaryRow =
  | {
      /** The input file's name as the user gave it. */
      image: string;
      /** Prefix of this image's output files (`<output>.mask.png`, ...), unique within the batch. */
      output: string;
      page: number;
      stats: ImageStats;
      /** Micrometres per pixel, when known (typed, or declared by the file). */
      pixelSize?: { x: number; y: number };
    }
  | { image: string; error: string };

/** What produced every row: printed on every line, so a summary stays self-describing when tables are merged. */
export interface SummaryProvenance {
  /** 'name version' of the ensemble. */
  ensemble: string;
  rule: string;
  tta: boolean;
}

/** The batch summary's file name, beside the images' own outputs (`quorum segment --out`, the app's ZIP). */
export const SUMMARY_FILE = 'summary.csv';

export const SUMMARY_COLUMNS = [
  'image',
  'output',
  'page',
  'width',
  'height',
  'objects',
  'objectsInside',
  'areaFraction',
  'meanArea',
  'medianArea',
  'meanEquivalentDiameter',
  'meanCircularity',
  'meanIntensity',
  'meanUncertainty',
  'pixelSizeXUm',
  'pixelSizeYUm',
  'meanAreaUm2',
  'medianAreaUm2',
  'objectsPerMm2',
  'ensemble',
  'rule',
  'tta',
  'error',
] as const;

/**
 * The batch summary as RFC 4180 CSV (CRLF line ends, like the objects CSV): one row per image in the given order,
 * physical columns empty where the pixel size is unknown, and for an image that failed only its name and the
 * error, so no failure goes unnoticed in a table of hundreds. Densities use every object (`objects`); use
 * `objectsInside` for an edge-corrected count.
 */
export function summaryToCsv(
  rows: readonly SummaryRow[],
  provenance: SummaryProvenance,
  decimals = 3,
): string {
  const num = (v: number | null) => (v === null ? '' : formatFixed(v, decimals));
  const lines = [SUMMARY_COLUMNS.join(',')];
  const tail = [csvField(provenance.ensemble), csvField(provenance.rule), provenance.tta ? '1' : '0'];
  for (const row of rows) {
    if ('error' in row) {
      // Every column between the name and the provenance is blank: nothing was measured.
      const blanks = SUMMARY_COLUMNS.length - 1 - tail.length - 1;
      lines.push(
        [csvField(row.image), ...new Array<string>(blanks).fill(''), ...tail, csvField(row.error)].join(','),
      );
      continue;
    }
    const s = row.stats;
    const size = row.pixelSize;
    if (size !== undefined && !(size.x > 0 && size.y > 0 && Number.isFinite(size.x * size.y))) {
      throw new QuorumInputError(
        'invalid-value',
        `pixelSize of ${row.image}`,
        `is ${size.x} x ${size.y} um; want positive numbers`,
      );
    }
    const area = size === undefined ? null : physicalScale(size).area;
    const umField = (v: number | null) =>
      area === null || v === null ? '' : formatFixed(v * area, decimals);
    lines.push(
      [
        csvField(row.image),
        csvField(row.output),
        String(row.page),
        String(s.width),
        String(s.height),
        String(s.objects),
        String(s.objectsInside),
        formatFixed(s.areaFraction, 6),
        num(s.meanArea),
        num(s.medianArea),
        num(s.meanEquivalentDiameter),
        num(s.meanCircularity),
        num(s.meanIntensity),
        num(s.meanUncertainty),
        size === undefined ? '' : String(size.x),
        size === undefined ? '' : String(size.y),
        umField(s.meanArea),
        umField(s.medianArea),
        // 1 mm^2 = 1e6 um^2.
        area === null ? '' : formatFixed((s.objects / (s.width * s.height * area)) * 1e6, decimals),
        ...tail,
        '',
      ].join(','),
    );
  }
  return lines.map((l) => l + '\r\n').join('');
}
