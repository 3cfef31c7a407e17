import {
  imageStats,
  objectsToCsv,
  type PixelSize,
  SUMMARY_FILE,
  type SummaryProvenance,
  type SummaryRow,
  summaryToCsv,
} from '@quorum/shared';
import { type Zippable, zipSync } from 'fflate';
import { exportResult } from './exports';
import type { BatchEntry, BatchItem, EngineResult, ExportedFile } from './types';

/**
 * A batch of images in the browser: each finished image is reduced to what its download needs (the mask and label
 * images encoded at once, the object table kept as rows so the CSV can still take a pixel size typed later), and
 * the whole batch becomes one ZIP with the same file names `quorum segment` writes, plus its summary.csv.
 */

/** What the batch keeps of a finished result: a few compressed images and the object rows, not the maps. */
export function batchEntry(
  r: Parameters<typeof exportResult>[0] & Pick<EngineResult, 'page'>,
  image: string,
  output: string,
): BatchEntry {
  return {
    image,
    output,
    page: r.page,
    width: r.width,
    height: r.height,
    objects: r.objects,
    ...(r.pixelSize ? { pixelSize: r.pixelSize } : {}),
    ...(r.channelIntensities ? { channelIntensities: r.channelIntensities } : {}),
    files: [exportResult(r, 'mask-png', output), exportResult(r, 'labels', output)],
  };
}

/**
 * The batch as one ZIP: per image its mask, labels and objects CSV, and `summary.csv` with a row per image (failed
 * ones with their reason). `pixelSize`, when given, overrides what each file declared, for every image.
 */
export function batchArchive(
  items: readonly BatchItem[],
  provenance: SummaryProvenance,
  pixelSize?: PixelSize,
): ExportedFile {
  const text = new TextEncoder();
  const entries: Zippable = {};
  const add = (name: string, bytes: Uint8Array, compress: boolean) => {
    // Names are unique by construction (the page's output prefixes); a clash would silently drop a file.
    if (name in entries) throw new Error(`batch archive: two files named ${name}`);
    entries[name] = [bytes, { level: compress ? 6 : 0 }];
  };
  const rows: SummaryRow[] = items.map((item) => {
    if ('error' in item) return { image: item.image, error: item.error };
    const size = pixelSize ?? item.pixelSize;
    // PNG and TIFF are already compressed; deflating them again costs time for nothing.
    for (const f of item.files) add(f.name, f.bytes, false);
    const csv = objectsToCsv(item.objects, {
      ...(size ? { pixelSize: size } : {}),
      ...(item.channelIntensities ? { channels: item.channelIntensities } : {}),
    });
    add(`${item.output}.objects.csv`, text.encode(csv), true);
    return {
      image: item.image,
      output: item.output,
      page: item.page,
      stats: imageStats(item.objects, item.width, item.height),
      ...(size ? { pixelSize: size } : {}),
    };
  });
  add(SUMMARY_FILE, text.encode(summaryToCsv(rows, provenance)), true);
  return { name: 'quorum-batch.zip', type: 'application/zip', bytes: zipSync(entries) };
}
