import { encodePng, encodeTiff, MAX_LABEL_16, maskToGrey, objectsToCsv } from '@quorum/shared';
import type { EngineResult, ExportedFile, ExportKind } from './types';

/** The files a result downloads as: the same names and encodings as `quorum segment` writes. */
export function exportResult(
  r: Pick<
    EngineResult,
    | 'width'
    | 'height'
    | 'count'
    | 'mask'
    | 'labels'
    | 'probability'
    | 'uncertainty'
    | 'objects'
    | 'pixelSize'
    | 'channelIntensities'
  >,
  kind: ExportKind,
  stem: string,
): ExportedFile {
  const { width: w, height: h } = r;
  const png = 'image/png';
  const tiff = 'image/tiff';
  switch (kind) {
    case 'mask-png':
      return {
        name: `${stem}.mask.png`,
        type: png,
        bytes: encodePng(maskToGrey(r.mask), w, h),
      };
    case 'labels':
      // 16-bit PNG while ids fit, as the CLI does; past 65,535 objects a float TIFF (exact up to 2^24 ids).
      if (r.count <= MAX_LABEL_16) {
        return { name: `${stem}.labels.png`, type: png, bytes: encodePng(Uint16Array.from(r.labels), w, h) };
      }
      return { name: `${stem}.labels.tif`, type: tiff, bytes: encodeTiff(Float32Array.from(r.labels), w, h) };
    case 'labels-tiff':
      return {
        name: `${stem}.labels.tif`,
        type: tiff,
        bytes:
          r.count <= MAX_LABEL_16
            ? encodeTiff(Uint16Array.from(r.labels), w, h)
            : encodeTiff(Float32Array.from(r.labels), w, h),
      };
    case 'probability-tiff':
      return { name: `${stem}.probability.tif`, type: tiff, bytes: encodeTiff(r.probability, w, h) };
    case 'uncertainty-tiff':
      return { name: `${stem}.uncertainty.tif`, type: tiff, bytes: encodeTiff(r.uncertainty, w, h) };
    case 'objects-csv':
      return {
        name: `${stem}.objects.csv`,
        type: 'text/csv',
        bytes: new TextEncoder().encode(
          objectsToCsv(r.objects, {
            ...(r.pixelSize ? { pixelSize: r.pixelSize } : {}),
            ...(r.channelIntensities ? { channels: r.channelIntensities } : {}),
          }),
        ),
      };
  }
}
