// Post-processing against scikit-image / SciPy (fixtures/reference/make-reference.py wrote the expected values).
import { describe, expect, it } from 'vitest';
import {
  fillHoles,
  labelComponents,
  type ObjectRow,
  objectTable,
  postprocess,
  removeSmallObjects,
  toUint16Labels,
} from '../src/postprocess';
import {
  loadReference,
  type RowArray,
  toFloatMap,
  toLabels,
  toMask,
  toRow,
  unpack,
} from './fixtures/reference/reference';

const ref = loadReference('postprocess.json');

/**
 * Integers (ids, areas, boxes, the border flag) must match exactly. Centroids, means, sums, diameters and
 * perimeters within 1e-9: both sides sum the same float64-exact inputs (coordinates; float maps of k / 2^m) in
 * float64, in different orders, so they differ only by rounding, about 1e-16 relative for these sizes; 1e-9
 * leaves room without hiding a wrong pixel (one pixel more or less moves a mean of at most a few hundred pixels by
 * more than 1e-4, a perimeter by at least 0.2). The ellipse (axes, eccentricity) within 1e-6: an eigenvalue near
 * zero is square-rooted, which turns 1e-16 into 1e-8. The orientation only where the ellipse has a major axis
 * (eigenvalues apart by 1e-6 relative), within 1e-6 degrees, modulo 180.
 */
function expectRows(actual: ObjectRow[], expected: RowArray[]): void {
  expect(actual.length).toBe(expected.length);
  const exact = ['id', 'area', 'bboxX', 'bboxY', 'bboxWidth', 'bboxHeight', 'touchesBorder'] as const;
  const close9 = [
    'centroidX',
    'centroidY',
    'meanIntensity',
    'meanUncertainty',
    'integratedIntensity',
    'equivalentDiameter',
    'perimeter',
    'circularity',
  ] as const;
  const close6 = ['majorAxisLength', 'minorAxisLength', 'eccentricity'] as const;
  actual.forEach((row, i) => {
    const want = toRow(expected[i]!);
    for (const k of exact) expect(row[k], `${k} of object ${want.id}`).toBe(want[k]);
    for (const [keys, tolerance] of [
      [close9, 1e-9],
      [close6, 1e-6],
    ] as const) {
      for (const k of keys) {
        const a = row[k];
        const b = want[k];
        if (b === null) expect(a, `${k} of object ${want.id}`).toBeNull();
        else expect(Math.abs(a! - b), `${k} of object ${want.id}: ${a} vs ${b}`).toBeLessThan(tolerance);
      }
    }
    const l1 = want.majorAxisLength ** 2;
    const l2 = want.minorAxisLength ** 2;
    if (l1 > 0 && (l1 - l2) / l1 > 1e-6) {
      const d = Math.abs(row.orientation - want.orientation) % 180;
      expect(Math.min(d, 180 - d), `orientation of object ${want.id}`).toBeLessThan(1e-6);
    }
  });
}

describe('reference fixtures', () => {
  it('were made by the libraries the report cites, and cover what the tests claim', () => {
    expect(ref.generator.skimage).toMatch(/^\d+\.\d+/);
    expect(ref.rowFields).toEqual([
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
      'majorAxisLength',
      'minorAxisLength',
      'eccentricity',
      'orientationRadians',
      'touchesBorder',
    ]);
    // Cases where the connectivities and the fill really differ, so the comparisons below can fail.
    expect(ref.masks.some((c) => c.label4.count > c.label8.count)).toBe(true);
    expect(ref.masks.some((c) => c.filled !== c.mask)).toBe(true);
    expect(ref.masks.some((c) => c.removed4 !== c.removed8)).toBe(true);
    expect(ref.pipelines.some((c) => c.exactlyAtThreshold > 0)).toBe(true);
    // Shape columns with something to compare: objects on and off the edge, real perimeters, tilted ellipses.
    const rows = [...ref.masks.flatMap((c) => c.objects8), ...ref.pipelines.flatMap((c) => c.objects)].map(
      toRow,
    );
    expect(rows.filter((r) => r.touchesBorder === 1).length).toBeGreaterThan(5);
    expect(rows.filter((r) => r.touchesBorder === 0).length).toBeGreaterThan(5);
    expect(rows.filter((r) => r.perimeter > 10).length).toBeGreaterThan(10);
    expect(
      rows.filter((r) => r.majorAxisLength > 1.01 * r.minorAxisLength && Math.abs(r.orientation) % 90 > 5)
        .length,
    ).toBeGreaterThan(10);
  });
});

describe.each(ref.masks)('mask $name against scikit-image', (c) => {
  const mask = toMask(c.mask, c.width, c.height);

  it('labels with 8-connectivity exactly as measure.label(connectivity=2), same numbering', () => {
    const { labels, count } = labelComponents(mask, 8);
    expect(count).toBe(c.label8.count);
    expect(Array.from(labels.data)).toEqual(unpack(c.label8.labels));
  });

  it('labels with 4-connectivity exactly as measure.label(connectivity=1), same numbering', () => {
    const { labels, count } = labelComponents(mask, 4);
    expect(count).toBe(c.label4.count);
    expect(Array.from(labels.data)).toEqual(unpack(c.label4.labels));
  });

  it('fills holes exactly as ndimage.binary_fill_holes', () => {
    expect(Array.from(fillHoles(mask).data).join('')).toBe(c.filled);
  });

  it('removes small objects of a mask exactly as morphology.remove_small_objects, for both connectivities', () => {
    expect(Array.from(removeSmallObjects(mask, c.minArea, 8).data).join('')).toBe(c.removed8);
    expect(Array.from(removeSmallObjects(mask, c.minArea, 4).data).join('')).toBe(c.removed4);
  });

  it('removes small objects of a label image (32 and 16 bit), keeping ids, as remove_small_objects', () => {
    const labels = toLabels(c.label8.labels, c.width, c.height);
    const want = unpack(c.removedLabels8);
    expect(Array.from(removeSmallObjects(labels, c.minArea).data)).toEqual(want);
    const small = removeSmallObjects(toUint16Labels(labels), c.minArea);
    expect(small.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(small.data)).toEqual(want);
  });

  it('measures objects as regionprops (area, centroid, bbox, intensity mean and sum, perimeter, ellipse, edge)', () => {
    const labels = toLabels(c.label8.labels, c.width, c.height);
    const rows = objectTable(labels, {
      intensity: toFloatMap(c.intensity, c.width, c.height),
      uncertainty: toFloatMap(c.uncertainty, c.width, c.height),
    });
    expectRows(rows, c.objects8);
  });
});

describe.each(ref.pipelines)('pipeline $name against scikit-image', (c) => {
  it('gives the labels and object table of threshold > t, fill, label, remove_small_objects, relabel', () => {
    const prob = toFloatMap(c.prob, c.width, c.height);
    const uncertainty = toFloatMap(c.uncertainty, c.width, c.height);
    const out = postprocess(prob, c.options, { intensity: prob, uncertainty });
    expect(out.count).toBe(c.count);
    const want = unpack(c.labels);
    expect(Array.from(out.labels.data)).toEqual(want);
    expect(Array.from(out.mask.data)).toEqual(want.map((v) => (v > 0 ? 1 : 0)));
    expectRows(out.objects, c.objects);
  });
});
