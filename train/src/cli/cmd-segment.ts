import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import {
  AGGREGATION_RULES,
  type ChannelChoice,
  channelIntensities,
  channelsIdentical,
  decodeImage,
  encodePng,
  encodeTiff,
  formatPixelSize,
  imageStats,
  isQuorumInputError,
  MAX_LABEL_16,
  maskToGrey,
  objectsToCsv,
  type PixelSize,
  QuorumInputError,
  SUMMARY_FILE,
  type SummaryProvenance,
  type SummaryRow,
  segmentImage,
  summaryToCsv,
  toSingleChannel,
} from '@quorum/shared';
import { BACKEND_REQUESTS, selectBackend } from '../backend';
import { loadEnsembleDir } from '../store/load-ensemble';
import { choiceFlag, intFlag, numberFlag, parseFlags, requireFlag } from './args';

export const SEGMENT_HELP = `quorum segment --ensemble DIR IMAGE... --out DIR [options]

Segment images with an exported ensemble, through the same pipeline the browser runs (whole-image percentile
normalisation, tiled inference with blending, aggregation, post-processing). Writes per image:
  <name>.mask.png         foreground mask (0/255)
  <name>.labels.png       instance labels, 16-bit (labels.tif, 32-bit float ids, above 65535 objects)
  <name>.probability.tif  the aggregated probability map (32-bit float)
  <name>.uncertainty.tif  std of the member probabilities (32-bit float)
  <name>.contour.tif      mean contour probability, for members trained with --contour (32-bit float)
  <name>.objects.csv      one row per object: id, area, centroid, bounding box, intensity (mean, integrated),
                          mean uncertainty, size and shape (diameter, perimeter, circularity, ellipse), edge flag;
                          with a pixel size, also area in um^2 and lengths in um; for an image whose channels
                          differ, the mean and integrated intensity of every channel (C0, C1, ...) per object
and for the whole batch:
  summary.csv             one row per image: objects (all, and not touching the edge), area fraction, mean and
                          median area, mean diameter, circularity, intensity and uncertainty; with a pixel size,
                          areas in um^2 and objects per mm^2; the ensemble, rule and TTA; and for an image that
                          could not be read, its error. Rewritten after every image.

An unreadable image is logged, listed in summary.csv and skipped; the others are segmented, and the command then
exits with status 2. Two inputs with the same file name (from different folders) are refused before any work:
their outputs would overwrite each other.

  --aggregate RULE   mean | vote | union (default: the manifest's rule)
  --tta              flip test-time augmentation (4x the work)
  --adaptive MODE    off | exact (default exact: skip member evaluations that cannot change the mask; the mask is
                     identical, the uncertainty map then comes from the members that ran)
  --page N           page of a multi-page TIFF (default 0)
  --channel C        auto | luminance | a channel index (default auto)
  --pixel-size UM    micrometres per pixel, for the CSV's physical columns (default: what the TIFF declares:
                     ImageJ or OME-XML metadata, or resolution tags in cm; none for PNG and JPEG)
  --backend B        ${BACKEND_REQUESTS.join(' | ')} (default auto)
`;

export async function segmentCommand(argv: string[], log: (s: string) => void): Promise<void> {
  const { values: v, positionals } = parseFlags(argv, {
    ensemble: { type: 'string' },
    out: { type: 'string' },
    aggregate: { type: 'string' },
    tta: { type: 'boolean' },
    adaptive: { type: 'string' },
    page: { type: 'string' },
    channel: { type: 'string' },
    backend: { type: 'string' },
    'pixel-size': { type: 'string' },
  });
  if (v.help) return log(SEGMENT_HELP);
  const ensembleDir = resolve(requireFlag(v.ensemble, '--ensemble'));
  const outDir = resolve(requireFlag(v.out, '--out'));
  if (positionals.length === 0)
    throw new QuorumInputError('missing', 'IMAGE', 'give at least one image to segment');
  const rule = v.aggregate ? choiceFlag(v.aggregate, '--aggregate', AGGREGATION_RULES, 'mean') : undefined;
  const adaptive = choiceFlag(v.adaptive, '--adaptive', ['off', 'exact'] as const, 'exact');
  const page = intFlag(v.page, '--page', 0, 0);
  const channel: ChannelChoice =
    v.channel === undefined || v.channel === 'auto'
      ? 'auto'
      : v.channel === 'luminance'
        ? 'luminance'
        : intFlag(v.channel, '--channel', 0, 0, 3);
  const userSize =
    v['pixel-size'] === undefined ? undefined : numberFlag(v['pixel-size'], '--pixel-size', 1, 1e-4, 1e4);
  const backend = await selectBackend(choiceFlag(v.backend, '--backend', BACKEND_REQUESTS, 'auto'));
  log(`backend: ${backend.name} (${backend.detail})`);
  const ensemble = await loadEnsembleDir(ensembleDir);
  const outputs = outputStems(positionals);
  mkdirSync(outDir, { recursive: true });
  const tta = v.tta ?? false;
  const provenance: SummaryProvenance = {
    ensemble: `${ensemble.manifest.name} ${ensemble.manifest.version}`,
    rule: rule ?? ensemble.manifest.aggregation.rule,
    tta,
  };

  /** Segments one image file and writes its outputs under `stem`; its summary row. */
  const segmentFile = async (file: string, stem: string): Promise<SummaryRow> => {
    const decoded = decodeImage(new Uint8Array(readFileSync(file)), { name: file, page });
    const pixelSize: PixelSize | undefined =
      userSize === undefined ? decoded.pixelSize : { x: userSize, y: userSize, source: 'user' };
    const image = toSingleChannel(decoded, channel);
    const seg = await segmentImage(image, ensemble.manifest, ensemble.runner, {
      ...(rule ? { rule } : {}),
      tta,
      adaptive,
    });
    const { width: w, height: h } = seg;
    writeFileSync(`${stem}.mask.png`, encodePng(maskToGrey(seg.mask.data), w, h));
    if (seg.count <= MAX_LABEL_16)
      writeFileSync(`${stem}.labels.png`, encodePng(Uint16Array.from(seg.labels.data), w, h));
    else writeFileSync(`${stem}.labels.tif`, encodeTiff(Float32Array.from(seg.labels.data), w, h));
    writeFileSync(`${stem}.probability.tif`, encodeTiff(seg.probability, w, h));
    writeFileSync(`${stem}.uncertainty.tif`, encodeTiff(seg.uncertainty.std, w, h));
    if (seg.contour) writeFileSync(`${stem}.contour.tif`, encodeTiff(seg.contour, w, h));
    const channels = channelsIdentical(decoded) ? undefined : channelIntensities(seg.labels, decoded);
    writeFileSync(
      `${stem}.objects.csv`,
      objectsToCsv(seg.objects, { ...(pixelSize ? { pixelSize } : {}), ...(channels ? { channels } : {}) }),
    );
    log(
      `${file}: ${seg.count} objects (${seg.rule} of ${ensemble.manifest.members.length} members${tta ? ', flip TTA' : ''}; ` +
        `${seg.evaluations} of ${seg.fullEvaluations} member-tile evaluations run` +
        `${pixelSize ? `; pixel ${formatPixelSize(pixelSize)}` : ''}) -> ${stem}.*`,
    );
    return {
      image: file,
      output: basename(stem),
      page,
      stats: imageStats(seg.objects, w, h),
      ...(pixelSize ? { pixelSize } : {}),
    };
  };

  const summaryPath = join(outDir, SUMMARY_FILE);
  const rows: SummaryRow[] = [];
  const failed: string[] = [];
  try {
    for (const [i, file] of positionals.entries()) {
      try {
        rows.push(await segmentFile(file, join(outDir, outputs[i]!)));
      } catch (e) {
        // A bad image costs that image only: the batch goes on, and the summary and the exit code say so.
        const reason = unreadableReason(e, file);
        if (reason === null) throw e;
        rows.push({ image: file, error: reason });
        failed.push(file);
        log(`${file}: skipped: ${reason}`);
      }
      // Rewritten after every image, so an interrupted batch still leaves a summary of what it finished.
      writeFileSync(summaryPath, summaryToCsv(rows, provenance));
    }
  } finally {
    ensemble.dispose();
  }
  log(`summary of ${rows.length} image(s) -> ${summaryPath}`);
  if (failed.length > 0) {
    throw new QuorumInputError(
      'unsupported',
      failed.length === 1 ? failed[0]! : `${failed.length} of ${positionals.length} images`,
      `could not be segmented (the others were; reasons in the log above and in ${summaryPath})`,
    );
  }
}

/**
 * Output prefixes, one per input: the file name without its extension. Two inputs with the same prefix would
 * overwrite each other's outputs (also on a case-insensitive file system), so that is refused before any work.
 */
export function outputStems(files: readonly string[]): string[] {
  const stems = files.map((f) => basename(f, extname(f)));
  const seen = new Map<string, number>();
  stems.forEach((stem, i) => {
    const key = stem.toLowerCase();
    const j = seen.get(key);
    if (j !== undefined) {
      throw new QuorumInputError(
        'mismatch',
        `${files[j]} and ${files[i]}`,
        `would both write ${stem}.* in --out; rename one, or segment them into different --out folders`,
      );
    }
    seen.set(key, i);
  });
  return stems;
}

/** Why one input could not be segmented (bad or missing file), or null for a failure that must stop the batch. */
function unreadableReason(e: unknown, file: string): string | null {
  if (isQuorumInputError(e)) return e.message;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') return `${file}: cannot read (${code})`;
  return null;
}
