import { QuorumInputError } from '../errors';
import { colourChannels } from '../image/channels';
import { indexLabels } from './label-index';
import { checkMap, type LabelImage } from './map2d';

/** Per-object intensity of every channel of a multi-channel image, in the order of `objectTable`'s rows. */
export interface ChannelIntensities {
  /** The image's channel indices measured (0-based, as `--channel` counts them). */
  channels: number[];
  /** `mean[j][k]`: mean of channel `channels[j]` over object k (ascending id order). */
  mean: Float64Array[];
  /** `integrated[j][k]`: its sum. */
  integrated: Float64Array[];
}

/** An interleaved multi-channel image, as decoded (`RasterImage` satisfies it). */
export interface Interleaved {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: ArrayLike<number>;
  readonly alpha?: boolean;
}

/**
 * Mean and integrated intensity of each channel (alpha excluded) under each object: the nuclei found in one channel
 * measured in the others, e.g. a marker's level per nucleus. Raw sample values, accumulated in float64. Callers
 * skip it for greyscale stored as RGB (`channelsIdentical`), whose channels would only repeat `meanIntensity`.
 */
export function channelIntensities(labels: LabelImage, image: Interleaved): ChannelIntensities {
  checkMap(labels, 'labels');
  if (image.width !== labels.width || image.height !== labels.height) {
    throw new QuorumInputError(
      'invalid-value',
      'image',
      `is ${image.width}x${image.height}, the labels ${labels.width}x${labels.height}; want the same size`,
    );
  }
  const n = image.channels;
  const measured = Array.from({ length: colourChannels(image) }, (_, c) => c);
  const { areas, slots } = indexLabels(labels.data);
  const k = areas.length;
  const sums = measured.map(() => new Float64Array(k));
  const { data } = image;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (s < 0) continue;
    for (const c of measured) sums[c]![s]! += data[i * n + c]!;
  }
  return {
    channels: measured,
    integrated: sums,
    mean: sums.map((sum) => sum.map((v, s) => v / areas[s]!)),
  };
}
