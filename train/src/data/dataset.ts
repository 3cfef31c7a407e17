import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import {
  DEFAULT_NORMALIZATION,
  decodeImage,
  imageToFloat,
  type NormalizationSpec,
  normalizePercentile,
  QuorumInputError,
  type RasterImage,
  toSingleChannel,
} from '@quorum/shared';
import { parseCsv } from './csv';

/**
 * A labelled data folder: DIR/images/<id>.<png|tif|tiff|jpg|jpeg>, DIR/masks/<id>.<png|tif|tiff> (instance labels
 * or binary; nonzero is foreground), optional DIR/metadata.csv with an `id` column, optional mode column and optional
 * `split` column (rows with split=test are never trained on).
 */
export interface DatasetEntry {
  id: string;
  imagePath: string;
  maskPath: string;
  split: string;
  /** Metadata columns of this id (empty without metadata.csv). */
  meta: Record<string, string>;
}

export interface Dataset {
  dir: string;
  entries: DatasetEntry[];
  columns: string[];
}

export interface LoadedSample {
  id: string;
  width: number;
  height: number;
  /** Raw single-channel intensities (for features and object tables). */
  raw: RasterImage;
  /** Percentile-normalised intensities in [0, 1]. */
  image: Float32Array;
  /** Binary foreground mask. */
  mask: Uint8Array;
  /** Instance labels as stored (for object-level metrics); binary masks give one label per connected region later. */
  labels: Uint32Array;
}

const IMAGE_EXT = ['.png', '.tif', '.tiff', '.jpg', '.jpeg'];
const MASK_EXT = ['.png', '.tif', '.tiff'];

function listById(dir: string, exts: string[], what: string): Map<string, string> {
  if (!existsSync(dir))
    throw new QuorumInputError('missing', dir, `no ${what} folder (expected ${what}/<id>.<ext>)`);
  const out = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    const ext = extname(name).toLowerCase();
    if (!exts.includes(ext)) continue;
    const id = basename(name, extname(name));
    if (out.has(id))
      throw new QuorumInputError('invalid-value', join(dir, name), `a second ${what} file for id "${id}"`);
    out.set(id, join(dir, name));
  }
  return out;
}

export function openDataset(dir: string): Dataset {
  const images = listById(join(dir, 'images'), IMAGE_EXT, 'images');
  const masks = listById(join(dir, 'masks'), MASK_EXT, 'masks');
  for (const id of images.keys()) {
    if (!masks.has(id))
      throw new QuorumInputError(
        'missing',
        images.get(id)!,
        `has no mask (expected masks/${id}.png or .tif)`,
      );
  }
  for (const id of masks.keys()) {
    if (!images.has(id))
      throw new QuorumInputError(
        'missing',
        masks.get(id)!,
        `has no image (expected images/${id}.png, .tif or .jpg)`,
      );
  }
  if (images.size === 0) throw new QuorumInputError('missing', join(dir, 'images'), 'holds no images');
  const metaPath = join(dir, 'metadata.csv');
  let meta = new Map<string, Record<string, string>>();
  let columns: string[] = [];
  if (existsSync(metaPath)) {
    const { header, rows } = parseCsv(readFileSync(metaPath, 'utf8'), metaPath);
    if (!header.includes('id')) throw new QuorumInputError('missing', metaPath, 'has no "id" column');
    columns = header;
    meta = new Map(rows.map((r) => [r['id']!, r]));
    for (const id of meta.keys()) {
      if (!images.has(id))
        throw new QuorumInputError('missing', metaPath, `lists id "${id}" with no image in images/`);
    }
  }
  const entries = [...images.keys()].map((id) => {
    const m = meta.get(id) ?? {};
    if (columns.length && !meta.has(id))
      throw new QuorumInputError('missing', metaPath, `has no row for image "${id}"`);
    return {
      id,
      imagePath: images.get(id)!,
      maskPath: masks.get(id)!,
      split: (m['split'] ?? 'train').toLowerCase(),
      meta: m,
    };
  });
  return { dir, entries, columns };
}

export function requireColumn(ds: Dataset, column: string, flag: string): void {
  if (!ds.columns.includes(column)) {
    const known = ds.columns.length
      ? `known columns: ${ds.columns.join(', ')}`
      : 'the data folder has no metadata.csv';
    throw new QuorumInputError('missing', flag, `unknown metadata column "${column}" (${known})`);
  }
}

export function loadSample(
  entry: DatasetEntry,
  normalization: NormalizationSpec = DEFAULT_NORMALIZATION,
): LoadedSample {
  const raw = toSingleChannel(
    decodeImage(new Uint8Array(readFileSync(entry.imagePath)), { name: entry.imagePath }),
  );
  const maskImg = toSingleChannel(
    decodeImage(new Uint8Array(readFileSync(entry.maskPath)), { name: entry.maskPath }),
    0,
  );
  if (maskImg.width !== raw.width || maskImg.height !== raw.height) {
    throw new QuorumInputError(
      'mismatch',
      entry.maskPath,
      `is ${maskImg.width}x${maskImg.height} but its image ${basename(entry.imagePath)} is ${raw.width}x${raw.height}`,
    );
  }
  const labels = Uint32Array.from(maskImg.data as ArrayLike<number>, (v) => (v > 0 ? Math.round(v) : 0));
  const mask = Uint8Array.from(labels, (v) => (v > 0 ? 1 : 0));
  return {
    id: entry.id,
    width: raw.width,
    height: raw.height,
    raw,
    image: normalizePercentile(imageToFloat(raw), normalization),
    mask,
    labels,
  };
}

/** Each image's mode for per-mode scores: its value in `column`, or one mode "all" without a column. */
export function modeLookup(ds: Dataset, column: string | null | undefined): (id: string) => string {
  if (!column) return () => 'all';
  const byId = new Map(ds.entries.map((e) => [e.id, e.meta[column] || 'unknown']));
  return (id) => byId.get(id) ?? 'unknown';
}
