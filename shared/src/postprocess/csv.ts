import { QuorumInputError } from '../errors';
import { physicalScale } from '../image/calibration';
import type { ChannelIntensities } from './channel-intensity';
import type { ObjectRow } from './objects';

export interface CsvOptions {
  /** Digits after the decimal point for the non-integer columns (centroids, means, shape). Default 3. */
  decimals?: number;
  /** When given, a leading `image` column with this value on every row, to concatenate tables of many images. */
  image?: string;
  /**
   * Micrometres per pixel (x, y). When given, `PHYSICAL_COLUMNS` follow the pixel columns: the area in um^2 and,
   * for square pixels (x and y within 1%), the lengths in um; lengths are empty for anisotropic pixels, where a
   * length in pixels has no single physical scale.
   */
  pixelSize?: { x: number; y: number };
  /**
   * Per-channel intensities of a multi-channel image (`channelIntensities`), for the same rows: adds
   * `meanIntensityC<k>` and `integratedIntensityC<k>` for each measured channel k, after any physical columns.
   */
  channels?: ChannelIntensities;
}

/** The physical columns `pixelSize` adds, after `OBJECT_COLUMNS`. */
export const PHYSICAL_COLUMNS = [
  'areaUm2',
  'equivalentDiameterUm',
  'perimeterUm',
  'majorAxisLengthUm',
  'minorAxisLengthUm',
] as const;

const LENGTH_OF: Readonly<Record<(typeof PHYSICAL_COLUMNS)[number], keyof ObjectRow | null>> = {
  areaUm2: null,
  equivalentDiameterUm: 'equivalentDiameter',
  perimeterUm: 'perimeter',
  majorAxisLengthUm: 'majorAxisLength',
  minorAxisLengthUm: 'minorAxisLength',
};

/** Columns in output order: the `ObjectRow` field names, so a parsed CSV maps back onto the rows. */
export const OBJECT_COLUMNS = [
  'id',
  'area',
  'centroidX',
  'centroidY',
  'bboxX',
  'bboxY',
  'bboxWidth',
  'bboxHeight',
  'meanIntensity',
  'meanUncertainty',
  'integratedIntensity',
  'equivalentDiameter',
  'perimeter',
  'circularity',
  'majorAxisLength',
  'minorAxisLength',
  'eccentricity',
  'orientation',
  'touchesBorder',
] as const satisfies readonly (keyof ObjectRow)[];

/** Columns that hold whole numbers; every other column is written with `decimals` digits. */
const INTEGER: ReadonlySet<string> = new Set([
  'id',
  'area',
  'bboxX',
  'bboxY',
  'bboxWidth',
  'bboxHeight',
  'touchesBorder',
]);

/**
 * The object table as RFC 4180 CSV: a header line, CRLF line ends (also after the last record), fields quoted
 * only when they contain a comma, a double quote, CR or LF (quotes doubled). Fractional columns are written with a
 * fixed number of decimals so files diff cleanly and do not carry float noise; a null mean is an empty field.
 */
export function objectsToCsv(rows: readonly ObjectRow[], options: CsvOptions = {}): string {
  const decimals = options.decimals ?? 3;
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 20) {
    throw new QuorumInputError('invalid-value', 'decimals', `is ${decimals}; want an integer in 0..20`);
  }
  const lead = options.image === undefined ? [] : [csvField(options.image)];
  const size = options.pixelSize;
  if (size !== undefined && !(size.x > 0 && size.y > 0 && Number.isFinite(size.x * size.y))) {
    throw new QuorumInputError(
      'invalid-value',
      'pixelSize',
      `is ${size.x} x ${size.y} um; want positive numbers`,
    );
  }
  const scale = size === undefined ? undefined : physicalScale(size);
  const physical = size === undefined ? [] : PHYSICAL_COLUMNS;
  const perChannel = options.channels;
  if (perChannel?.mean.some((m) => m.length !== rows.length)) {
    throw new QuorumInputError(
      'invalid-value',
      'channels',
      `do not have one value per row (${rows.length} rows)`,
    );
  }
  const channelColumns = (perChannel?.channels ?? []).flatMap((c) => [
    `meanIntensityC${c}`,
    `integratedIntensityC${c}`,
  ]);
  const lines = [
    [...(lead.length ? ['image'] : []), ...OBJECT_COLUMNS, ...physical, ...channelColumns].join(','),
  ];
  rows.forEach((row, r) => {
    const fields = OBJECT_COLUMNS.map((c) => {
      const v = row[c];
      if (v === null) return '';
      return INTEGER.has(c) ? String(v) : formatFixed(v, decimals);
    });
    const extra = physical.map((c) => {
      const length = LENGTH_OF[c];
      if (length === null) return formatFixed(row.area * scale!.area, decimals);
      return scale!.length === null ? '' : formatFixed((row[length] as number) * scale!.length, decimals);
    });
    const channelFields = (perChannel?.channels ?? []).flatMap((_, j) => [
      formatFixed(perChannel!.mean[j]![r]!, decimals),
      formatFixed(perChannel!.integrated[j]![r]!, decimals),
    ]);
    lines.push([...lead, ...fields, ...extra, ...channelFields].join(','));
  });
  return lines.map((l) => l + '\r\n').join('');
}

/** `toFixed` without the "-0.000" it gives for tiny negative values. */
export function formatFixed(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** One RFC 4180 field. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
