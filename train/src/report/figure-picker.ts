import type { Segmentation } from '@quorum/shared';
import type { LoadedSample } from '../data/dataset';
import type { MeasuredImage } from '../evaluate/evaluate';
import { overlayFigure } from './figures';

export interface PickedFigure {
  id: string;
  /** Unmatched true plus unmatched predicted objects. */
  errors: number;
  png: Uint8Array;
}

/**
 * Keeps the overlay figures of the `limit` images with the most object errors seen so far (ties: the earlier
 * image), so the report shows where the ensemble fails rather than whichever images come first. Only an image that
 * enters the selection is drawn.
 */
export function figurePicker(limit: number) {
  const picked: PickedFigure[] = [];
  return {
    offer(sample: LoadedSample, seg: Segmentation, measured: MeasuredImage): void {
      const objects = measured.scores.objects;
      if (limit <= 0 || !objects) return;
      const errors = objects.fp + objects.fn;
      if (picked.length >= limit && errors <= picked[picked.length - 1]!.errors) return;
      picked.push({
        id: sample.id,
        errors,
        png: overlayFigure(sample, seg, measured.truth, measured.classes),
      });
      // Stable: equal counts keep their arrival order.
      picked.sort((a, b) => b.errors - a.errors);
      if (picked.length > limit) picked.pop();
    },
    /** Most errors first. */
    picked: (): readonly PickedFigure[] => picked,
  };
}
