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
  MAX_LABEL_16,
  objectsToCsv,
  type PixelSize,
  QuorumInputError,
  segmentImage,
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
  mkdirSync(outDir, { recursive: true });
  try {
    for (const file of positionals) {
      const decoded = decodeImage(new Uint8Array(readFileSync(file)), { name: file, page });
      const pixelSize: PixelSize | undefined =
        userSize === undefined ? decoded.pixelSize : { x: userSize, y: userSize, source: 'user' };
      const image = toSingleChannel(decoded, channel);
      const seg = await segmentImage(image, ensemble.manifest, ensemble.runner, {
        ...(rule ? { rule } : {}),
        tta: v.tta ?? false,
        adaptive,
      });
      const stem = join(outDir, basename(file, extname(file)));
      const { width: w, height: h } = seg;
      writeFileSync(
        `${stem}.mask.png`,
        encodePng(
          Uint8Array.from(seg.mask.data, (m) => m * 255),
          w,
          h,
        ),
      );
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
        `${file}: ${seg.count} objects (${seg.rule} of ${ensemble.manifest.members.length} members${v.tta ? ', flip TTA' : ''}; ` +
          `${seg.evaluations} of ${seg.fullEvaluations} member-tile evaluations run` +
          `${pixelSize ? `; pixel ${formatPixelSize(pixelSize)}` : ''}) -> ${stem}.*`,
      );
    }
  } finally {
    ensemble.dispose();
  }
}
