// Instance splitting against SciPy / scikit-image (fixtures/reference/make-reference.py wrote split.json).
import { describe, expect, it } from 'vitest';
import {
  distanceTransform,
  gaussianBlur,
  hMaxima,
  labelComponents,
  markerWatershed,
  splitTouching,
} from '../src/postprocess';
import { loadReference, toMask, unpack } from './fixtures/reference/reference';

const ref = loadReference('split.json');

describe.each(ref.cases)('instance splitting matches scikit-image: $name', (c) => {
  const mask = toMask(c.mask, c.width, c.height);
  const distance = distanceTransform(mask);
  const smoothed = gaussianBlur(distance, c.sigma);

  it('the distance transform is exact (SciPy distance_transform_edt)', () => {
    expect(Array.from(distance.data, (d) => Math.round(d * d))).toEqual(unpack(c.squaredDistance));
    // sqrt of the integer squared distance, bit for bit.
    expect(Array.from(distance.data)).toEqual(unpack(c.squaredDistance).map(Math.sqrt));
  });

  it(
    c.smoothed
      ? 'the smoothing equals SciPy gaussian_filter within 1e-12'
      : 'sigma 0 leaves the distances as they are',
    () => {
      if (!c.smoothed) return expect(smoothed).toBe(distance);
      const worst = c.smoothed.reduce((m, v, i) => Math.max(m, Math.abs(v - smoothed.data[i]!)), 0);
      expect(worst).toBeLessThan(1e-12);
    },
  );

  it('the markers equal h_maxima', () => {
    const peaks = hMaxima(smoothed, c.h);
    const inMask = Array.from(peaks.data, (v, i) => (v && mask.data[i] ? '1' : '0')).join('');
    expect(inMask).toBe(c.peaks);
  });

  it('the watershed labels equal scikit-image watershed(-distance, markers, mask)', () => {
    const markers = labelComponents(toMask(c.peaks, c.width, c.height), 8);
    const relief = { width: c.width, height: c.height, data: smoothed.data.map((v) => -v) };
    const flooded = markerWatershed(relief, markers.labels, mask);
    const split = splitTouching(mask, { method: 'distance-watershed', h: c.h, sigma: c.sigma });
    expect(split.count).toBe(c.count);
    const want = unpack(c.labels);
    const differ = want.flatMap((v, i) => (v !== split.labels.data[i] ? [i] : []));
    // Ties: pixels equally far from two markers' floods are given to whichever the queue pops first, and
    // scikit-image's heap orders equal (value, age) entries by its own layout. Such a pixel lies where two
    // objects meet, so it must touch the label scikit-image chose; and they are rare.
    expect(differ.length).toBeLessThanOrEqual(Math.ceil(0.01 * want.filter(Boolean).length));
    for (const i of differ) {
      const x = i % c.width;
      const y = (i - x) / c.width;
      const near = [-1, 0, 1].flatMap((dy) =>
        [-1, 0, 1].map((dx) => split.labels.data[(y + dy) * c.width + x + dx]),
      );
      expect(want[i]).not.toBe(0);
      expect(near).toContain(want[i]);
    }
    // splitTouching adds nothing here: every component had a marker.
    expect(new Set(flooded.data).size - 1).toBe(c.count);
  });
});
