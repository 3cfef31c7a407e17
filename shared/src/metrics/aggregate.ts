import { QuorumInputError } from '../errors';
import { type ObjectCounts, type ObjectRates, objectRates } from './object';
import { type ObjectErrors, sumObjectErrors } from './object-errors';
import { type PixelScores, pixelScoresFromCounts } from './pixel';
import { type MeanStd, meanAndStd } from './stats';

/** What was measured on one image. Give `objects`, `errors` and `averagePrecision` for all images or for none. */
export interface ImageScores {
  pixel: PixelScores;
  objects?: ObjectCounts;
  /** Why the objects did or did not match (see objectErrors). */
  errors?: ObjectErrors;
  averagePrecision?: number;
}

/**
 * Scores over a set of images, two ways:
 * - `mean` (macro): every image weighs the same; mean and sample std over images. THE REPORT'S HEADLINE is
 *   `mean.dice` (± std): it answers "how well does it do on an image" and has a spread.
 * - `pooled` (micro): counts summed over all pixels (objects) of all images, then scored once, so large or
 *   crowded images dominate. The report shows pooled Dice beside the headline; a large gap between the two
 *   means quality depends on image size or density.
 */
export interface AggregateScores {
  images: number;
  mean: {
    dice: MeanStd;
    iou: MeanStd;
    precision: MeanStd;
    recall: MeanStd;
    objectF1?: MeanStd;
    averagePrecision?: MeanStd;
  };
  pooled: PixelScores;
  pooledObjects?: ObjectRates;
  /** Object error classes summed over the images. */
  objectErrors?: ObjectErrors;
}

export function aggregateScores(perImage: readonly ImageScores[]): AggregateScores {
  if (perImage.length === 0) throw new QuorumInputError('too-few', 'perImage', 'has no images to aggregate');
  const first = perImage[0]!;
  perImage.forEach((s, i) => {
    for (const key of ['objects', 'errors', 'averagePrecision'] as const) {
      if ((s[key] === undefined) !== (first[key] === undefined)) {
        throw new QuorumInputError(
          'mismatch',
          `perImage[${i}].${key}`,
          `is ${s[key] === undefined ? 'missing' : 'present'} but not so in perImage[0]; give it for all images or none`,
        );
      }
    }
  });
  const of = (f: (s: ImageScores) => number): MeanStd => meanAndStd(perImage.map(f));
  const sum = (f: (s: ImageScores) => number): number => perImage.reduce((a, s) => a + f(s), 0);
  const result: AggregateScores = {
    images: perImage.length,
    mean: {
      dice: of((s) => s.pixel.dice),
      iou: of((s) => s.pixel.iou),
      precision: of((s) => s.pixel.precision),
      recall: of((s) => s.pixel.recall),
    },
    pooled: pixelScoresFromCounts({
      tp: sum((s) => s.pixel.tp),
      fp: sum((s) => s.pixel.fp),
      fn: sum((s) => s.pixel.fn),
      tn: sum((s) => s.pixel.tn),
    }),
  };
  if (first.objects) {
    result.mean.objectF1 = of((s) => objectRates(s.objects!).f1);
    result.pooledObjects = objectRates({
      tp: sum((s) => s.objects!.tp),
      fp: sum((s) => s.objects!.fp),
      fn: sum((s) => s.objects!.fn),
    });
  }
  if (first.errors) result.objectErrors = sumObjectErrors(perImage.map((s) => s.errors!));
  if (first.averagePrecision !== undefined) result.mean.averagePrecision = of((s) => s.averagePrecision!);
  return result;
}
