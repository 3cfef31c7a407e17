import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuorumInputError } from '../src/errors';
import {
  type Connectivity,
  channelIntensities,
  fillHoles,
  type LabelImage,
  labelComponents,
  labelsToMask,
  type Mask,
  OBJECT_COLUMNS,
  objectsToCsv,
  objectTable,
  PHYSICAL_COLUMNS,
  postprocess,
  relabelSequential,
  removeSmallObjects,
  threshold,
  toUint16Labels,
  toUint32Labels,
} from '../src/postprocess';

/** A mask from rows of '0'/'1' (spaces ignored), so the tests show the picture. */
function mask(...rows: string[]): Mask {
  const clean = rows.map((r) => r.replaceAll(' ', ''));
  return {
    width: clean[0]!.length,
    height: clean.length,
    data: Uint8Array.from(clean.join(''), (c) => (c === '1' ? 1 : 0)),
  };
}

function picture(m: { width: number; data: ArrayLike<number> }): string[] {
  const rows: string[] = [];
  for (let i = 0; i < m.data.length; i += m.width)
    rows.push(
      Array.from(m.data)
        .slice(i, i + m.width)
        .join(''),
    );
  return rows;
}

function labels32(width: number, ...values: number[]): LabelImage {
  return { width, height: values.length / width, data: Uint32Array.from(values) };
}

function expectInputError(f: () => unknown, code: string, ...inMessage: string[]): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(QuorumInputError);
    expect((e as QuorumInputError).code).toBe(code);
    for (const s of inMessage) expect((e as Error).message).toContain(s);
    return;
  }
  expect.fail('expected a QuorumInputError');
}

// ---- brute-force references used by the property tests (breadth-first search, written independently) ----

function neighbours(i: number, w: number, h: number, conn: Connectivity): number[] {
  const x = i % w;
  const y = (i - x) / w;
  const out: number[] = [];
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      if ((dx === 0 && dy === 0) || (conn === 4 && dx !== 0 && dy !== 0)) continue;
      const nx = x + dx;
      const ny = y + dy;
      if (nx >= 0 && ny >= 0 && nx < w && ny < h) out.push(ny * w + nx);
    }
  }
  return out;
}

/** BFS labelling: scanning for the next unlabelled pixel in raster order numbers objects by first pixel. */
function bfsLabels(m: Mask, conn: Connectivity): number[] {
  const out = new Array<number>(m.data.length).fill(0);
  let next = 0;
  for (let s = 0; s < m.data.length; s++) {
    if (!m.data[s] || out[s]) continue;
    out[s] = ++next;
    const queue = [s];
    while (queue.length) {
      for (const j of neighbours(queue.pop()!, m.width, m.height, conn)) {
        if (m.data[j] && !out[j]) {
          out[j] = next;
          queue.push(j);
        }
      }
    }
  }
  return out;
}

const arbMask = (maxSide = 14): fc.Arbitrary<Mask> =>
  fc
    .record({
      width: fc.integer({ min: 1, max: maxSide }),
      height: fc.integer({ min: 1, max: maxSide }),
      density: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .chain(({ width, height, density }) =>
      fc
        .array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: width * height,
          maxLength: width * height,
        })
        .map((u) => ({ width, height, data: Uint8Array.from(u, (v) => (v < density ? 1 : 0)) })),
    );

const arbConn = fc.constantFrom<Connectivity>(4, 8);

describe('threshold', () => {
  it('is strictly greater than t; NaN is background', () => {
    const prob = { width: 6, height: 1, data: Float32Array.of(0.2, 0.5, 0.51, 0, 1, Number.NaN) };
    expect(Array.from(threshold(prob, 0.5).data)).toEqual([0, 0, 1, 0, 1, 0]);
    // t = 0 keeps every pixel with any probability, but not those at exactly 0.
    expect(Array.from(threshold(prob, 0).data)).toEqual([1, 1, 1, 0, 1, 0]);
  });

  it('rejects a non-finite threshold and a map whose data does not fit its size', () => {
    const prob = { width: 2, height: 1, data: Float32Array.of(0, 1) };
    expectInputError(() => threshold(prob, Number.NaN), 'invalid-value', 'threshold');
    expectInputError(() => threshold({ ...prob, height: 2 }, 0.5), 'mismatch', '2x2', '2 values');
  });
});

describe('fillHoles', () => {
  it('fills an enclosed hole and leaves a pocket that reaches the border', () => {
    expect(picture(fillHoles(mask('11111', '10101', '11101')))).toEqual(['11111', '11101', '11101']);
  });

  it('treats background as 4-connected: a diagonal gap does not drain a hole', () => {
    // (1,1)'s four neighbours are foreground; it touches the outside (2,2) only diagonally, so it is a hole.
    expect(picture(fillHoles(mask('11100', '10100', '11000', '00000')))).toEqual([
      '11100',
      '11100',
      '11000',
      '00000',
    ]);
  });

  it('handles empty and degenerate sizes', () => {
    expect(fillHoles({ width: 0, height: 0, data: new Uint8Array(0) }).data.length).toBe(0);
    expect(picture(fillHoles(mask('0110')))).toEqual(['0110']);
  });

  it('is a superset, idempotent, and fills exactly the background not reachable from the border', () => {
    fc.assert(
      fc.property(arbMask(), (m) => {
        const f = fillHoles(m);
        const again = fillHoles(f);
        expect(Array.from(again.data)).toEqual(Array.from(f.data));
        // Brute force: 4-connected background components; those touching the border stay background.
        const inverse = { ...m, data: m.data.map((v) => (v ? 0 : 1)) };
        const comps = bfsLabels(inverse, 4);
        const open = new Set<number>();
        comps.forEach((c, i) => {
          const x = i % m.width;
          const y = Math.floor(i / m.width);
          if (c && (x === 0 || y === 0 || x === m.width - 1 || y === m.height - 1)) open.add(c);
        });
        const want = comps.map((c, i) => (m.data[i] || !open.has(c) ? 1 : 0));
        expect(Array.from(f.data)).toEqual(want);
      }),
    );
  });
});

describe('labelComponents', () => {
  const m = mask(
    '1001', //
    '0101',
    '0000',
    '1101',
  );

  it('joins diagonal neighbours with 8-connectivity, numbering by first pixel in raster order', () => {
    // (0,0)-(1,1) diagonal: object 1; (3,0)-(3,1): 2; (0,3)-(1,3): 3; (3,3): 4.
    const { labels, count } = labelComponents(m);
    expect(count).toBe(4);
    expect(picture(labels)).toEqual(['1002', '0102', '0000', '3304']);
  });

  it('keeps diagonal neighbours apart with 4-connectivity', () => {
    // (1,1) is now its own object; its first pixel comes after (3,0)'s, so it is 3.
    const { labels, count } = labelComponents(m, 4);
    expect(count).toBe(5);
    expect(picture(labels)).toEqual(['1002', '0302', '0000', '4405']);
  });

  it('numbers an object by its first pixel even when a later arm was reached first', () => {
    // The right arm starts at (2,0) and the U closes at row 2: one object, id 1; (0,4) is id 2.
    const { labels, count } = labelComponents(mask('001', '101', '111', '000', '100'));
    expect(count).toBe(2);
    expect(picture(labels)).toEqual(['001', '101', '111', '000', '200']);
  });

  it('joins through the north-east neighbour', () => {
    expect(labelComponents(mask('01', '10')).count).toBe(1);
    expect(labelComponents(mask('01', '10'), 4).count).toBe(2);
  });

  it('labels a 4096x4096 all-foreground mask as one object without recursion', () => {
    const n = 4096;
    const big = { width: n, height: n, data: new Uint8Array(n * n).fill(1) };
    const { labels, count } = labelComponents(big);
    expect(count).toBe(1);
    expect(labels.data[0]).toBe(1);
    expect(labels.data[n * n - 1]).toBe(1);
  });

  it('labels a 2048x2048 checkerboard (the most provisional labels) with 4-connectivity', () => {
    const n = 2048;
    const data = new Uint8Array(n * n);
    for (let y = 0; y < n; y++) for (let x = (y & 1) ^ 1; x < n; x += 2) data[y * n + x] = 1;
    expect(labelComponents({ width: n, height: n, data }, 4).count).toBe((n * n) / 2);
    expect(labelComponents({ width: n, height: n, data }, 8).count).toBe(1);
  });

  it('rejects a connectivity other than 4 or 8', () => {
    expectInputError(() => labelComponents(m, 6 as Connectivity), 'invalid-value', 'connectivity');
  });

  it('equals a breadth-first labelling: every foreground pixel labelled, neighbours share, count = distinct', () => {
    fc.assert(
      fc.property(arbMask(), arbConn, (m, conn) => {
        const { labels, count } = labelComponents(m, conn);
        const got = Array.from(labels.data);
        expect(got).toEqual(bfsLabels(m, conn));
        // The same facts stated directly, so a failure says which one broke.
        const unlabelled = got.filter((l, i) => l > 0 !== (m.data[i] === 1));
        const split = got.filter((l, i) =>
          neighbours(i, m.width, m.height, conn).some((j) => l > 0 && got[j]! > 0 && got[j] !== l),
        );
        expect(unlabelled).toEqual([]);
        expect(split).toEqual([]);
        expect(new Set(got.filter((l) => l > 0)).size).toBe(count);
      }),
    );
  });
});

describe('removeSmallObjects', () => {
  it('drops mask objects with fewer than minArea pixels, keeping those of exactly minArea', () => {
    // Areas: top-left 1, top-right 2 (8-connected diagonal pair), bottom 3.
    const m = mask('1001', '0010', '0000', '1110');
    expect(picture(removeSmallObjects(m, 2))).toEqual(['0001', '0010', '0000', '1110']);
    // With 4-connectivity the diagonal pair is two objects of 1 pixel.
    expect(picture(removeSmallObjects(m, 2, 4))).toEqual(['0000', '0000', '0000', '1110']);
    expect(picture(removeSmallObjects(m, 0))).toEqual(picture(m));
  });

  it('drops label ids by total area, keeps ids unchanged, and counts disconnected pixels of one id together', () => {
    // id 5: 1 pixel; id 9: 3 pixels; id 7: 2 pixels in two places.
    const l = labels32(4, 5, 0, 7, 0, 0, 9, 9, 0, 7, 0, 9, 0);
    expect(Array.from(removeSmallObjects(l, 2).data)).toEqual([0, 0, 7, 0, 0, 9, 9, 0, 7, 0, 9, 0]);
    expect(Array.from(removeSmallObjects(l, 3).data)).toEqual([0, 0, 0, 0, 0, 9, 9, 0, 0, 0, 9, 0]);
    const l16 = removeSmallObjects(toUint16Labels(l), 3);
    expect(l16.data).toBeInstanceOf(Uint16Array);
  });

  it('rejects a negative or fractional minArea', () => {
    expectInputError(() => removeSmallObjects(mask('1'), -1), 'invalid-value', 'minArea');
    expectInputError(() => removeSmallObjects(mask('1'), 2.5), 'invalid-value', 'minArea');
  });

  it('never adds foreground, and keeps exactly the components with at least minArea pixels', () => {
    fc.assert(
      fc.property(arbMask(), arbConn, fc.integer({ min: 0, max: 8 }), (m, conn, minArea) => {
        const out = removeSmallObjects(m, minArea, conn);
        const comps = bfsLabels(m, conn);
        const area = new Map<number, number>();
        for (const c of comps) if (c) area.set(c, (area.get(c) ?? 0) + 1);
        expect(Array.from(out.data).every((v, i) => v <= m.data[i]!)).toBe(true);
        expect(Array.from(out.data)).toEqual(comps.map((c) => (c && area.get(c)! >= minArea ? 1 : 0)));
      }),
    );
  });
});

describe('relabelSequential and label conversions', () => {
  it('renumbers 1..count in raster order of first pixel', () => {
    const { labels, count } = relabelSequential(labels32(3, 0, 40, 40, 7, 0, 3_000_000_000, 7, 40, 0));
    expect(count).toBe(3);
    expect(Array.from(labels.data)).toEqual([0, 1, 1, 2, 0, 3, 2, 1, 0]);
  });

  it('narrows to 16 bits up to id 65535 and refuses beyond, naming the limit', () => {
    expect(Array.from(toUint16Labels(labels32(2, 0, 65535)).data)).toEqual([0, 65535]);
    expectInputError(() => toUint16Labels(labels32(2, 0, 65536)), 'too-large', '65536', '65535');
    const wide = toUint32Labels({ width: 1, height: 1, data: Uint16Array.of(9) });
    expect(wide.data).toBeInstanceOf(Uint32Array);
    expect(Array.from(labelsToMask(labels32(3, 0, 4, 70000)).data)).toEqual([0, 1, 1]);
  });
});

describe('objectTable', () => {
  // 4x3:      intensity:
  // 1 1 0 0   0.5  0.25 0 0
  // 1 0 0 2   1    0    0 0.75
  // 0 0 0 2   0    0    0 0.25
  const l = labels32(4, 1, 1, 0, 0, 1, 0, 0, 2, 0, 0, 0, 2);
  const intensity = {
    width: 4,
    height: 3,
    data: Float32Array.of(0.5, 0.25, 0, 0, 1, 0, 0, 0.75, 0, 0, 0, 0.25),
  };

  it('measures shape in the documented conventions: a disc is round, a bar has its angle, edges are flagged', () => {
    const w = 64;
    const data = new Uint32Array(w * w);
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) {
        // 1: a disc of radius 10 at (20, 20). 2: a 30 x 4 bar through (44, 44) at 30 degrees counter-clockwise
        // from x as displayed, i.e. rising to the right (y runs down). 3: a square in the bottom-left corner.
        const [u, v] = [x - 44, -(y - 44)];
        const along = u * Math.cos(Math.PI / 6) + v * Math.sin(Math.PI / 6);
        const across = -u * Math.sin(Math.PI / 6) + v * Math.cos(Math.PI / 6);
        if ((x - 20) ** 2 + (y - 20) ** 2 <= 100) data[y * w + x] = 1;
        else if (Math.abs(along) <= 15 && Math.abs(across) <= 2) data[y * w + x] = 2;
        else if (x < 5 && y >= w - 5) data[y * w + x] = 3;
      }
    }
    const [disc, bar, corner] = objectTable({ width: w, height: w, data });
    expect(disc!.eccentricity).toBeLessThan(0.05);
    expect(disc!.circularity!).toBeGreaterThan(0.9);
    expect(disc!.circularity!).toBeLessThan(1.1);
    expect(disc!.equivalentDiameter).toBeCloseTo(Math.sqrt((4 * disc!.area) / Math.PI), 12);
    expect(disc!.touchesBorder).toBe(0);
    expect(bar!.orientation).toBeGreaterThan(28);
    expect(bar!.orientation).toBeLessThan(32);
    expect(bar!.majorAxisLength / bar!.minorAxisLength).toBeGreaterThan(5);
    expect(bar!.circularity!).toBeLessThan(0.6);
    expect(bar!.touchesBorder).toBe(0);
    expect(corner!.touchesBorder).toBe(1);
    // Mirroring the image top to bottom turns the bar to -30 degrees.
    const flipped = new Uint32Array(w * w);
    for (let y = 0; y < w; y++) flipped.set(data.subarray((w - 1 - y) * w, (w - y) * w), y * w);
    const mirroredBar = objectTable({ width: w, height: w, data: flipped }).find(
      (r) => r.area === bar!.area,
    )!;
    expect(mirroredBar.orientation).toBeCloseTo(-bar!.orientation, 9);
  });

  it('measures area, centroid (pixel centres at integers), bbox and means; null means without maps', () => {
    const rows = objectTable(l, { intensity });
    expect(rows).toHaveLength(2);
    // id 1: pixels (0,0) (1,0) (0,1): centroid x = (0+1+0)/3, y = (0+0+1)/3; mean = (0.5+0.25+1)/3.
    const { orientation, majorAxisLength, minorAxisLength, eccentricity, ...rest } = rows[0]!;
    expect(rest).toEqual({
      id: 1,
      area: 3,
      centroidX: 1 / 3,
      centroidY: 1 / 3,
      bboxX: 0,
      bboxY: 0,
      bboxWidth: 2,
      bboxHeight: 2,
      meanIntensity: 1.75 / 3,
      integratedIntensity: 1.75,
      meanUncertainty: null,
      equivalentDiameter: Math.sqrt(12 / Math.PI),
      // Corner pixel (0,0): straight neighbours right and down, code 5, length 1; (1,0) and (0,1): one straight
      // and one diagonal neighbour, code 13, (1 + sqrt 2) / 2 each.
      perimeter: 2 + Math.SQRT2,
      circularity: (12 * Math.PI) / (2 + Math.SQRT2) ** 2,
      touchesBorder: 1,
    });
    // var(x) = var(y) = 2/9, cov = -1/9: eigenvalues 1/3 and 1/9; the major axis runs from (1,0) down-left to
    // (0,1), 45 degrees counter-clockwise from x as displayed.
    expect(majorAxisLength).toBeCloseTo(4 / Math.sqrt(3), 12);
    expect(minorAxisLength).toBeCloseTo(4 / 3, 12);
    expect(eccentricity).toBeCloseTo(Math.sqrt(2 / 3), 12);
    expect(orientation).toBeCloseTo(45, 12);
    // id 2: pixels (3,1) (3,2): centroid (3, 1.5), box 1 wide 2 high at (3,1); mean (0.75+0.25)/2.
    expect(rows[1]).toMatchObject({ id: 2, area: 2, centroidX: 3, centroidY: 1.5, bboxX: 3, bboxY: 1 });
    expect(rows[1]).toMatchObject({ bboxWidth: 1, bboxHeight: 2, meanIntensity: 0.5 });
    expect(objectTable(l)[0]!.meanIntensity).toBeNull();
  });

  it('lists sparse and huge ids in ascending order', () => {
    const rows = objectTable(labels32(3, 4_000_000_000, 0, 12));
    expect(rows.map((r) => r.id)).toEqual([12, 4_000_000_000]);
  });

  it('rejects maps of another size, naming both sizes', () => {
    const wide = { width: 5, height: 3, data: new Float32Array(15) };
    expectInputError(() => objectTable(l, { intensity: wide }), 'mismatch', 'intensity map', '5x3', '4x3');
    expectInputError(
      () => objectTable(l, { uncertainty: wide }),
      'mismatch',
      'uncertainty map',
      '5x3',
      '4x3',
    );
  });

  it('agrees with a per-object brute force on random labellings', () => {
    fc.assert(
      fc.property(arbMask(10), (m) => {
        const { labels } = labelComponents(m);
        const vals = Float32Array.from(m.data, (_, i) => ((i * 37) % 11) / 8);
        const rows = objectTable(labels, {
          intensity: { ...m, data: vals },
          uncertainty: { ...m, data: vals },
        });
        for (const r of rows) {
          const px = Array.from(labels.data.keys()).filter((i) => labels.data[i] === r.id);
          const xs = px.map((i) => i % m.width);
          const ys = px.map((i) => Math.floor(i / m.width));
          expect(r.area).toBe(px.length);
          expect(r.bboxX).toBe(Math.min(...xs));
          expect(r.bboxY).toBe(Math.min(...ys));
          expect(r.bboxWidth).toBe(Math.max(...xs) - Math.min(...xs) + 1);
          expect(r.bboxHeight).toBe(Math.max(...ys) - Math.min(...ys) + 1);
          expect(r.centroidX).toBeCloseTo(xs.reduce((a, b) => a + b) / px.length, 12);
          expect(r.centroidY).toBeCloseTo(ys.reduce((a, b) => a + b) / px.length, 12);
          expect(r.meanIntensity).toBeCloseTo(px.reduce((a, i) => a + vals[i]!, 0) / px.length, 12);
          expect(r.meanUncertainty).toBe(r.meanIntensity);
        }
      }),
    );
  });
});

describe('objectsToCsv', () => {
  const rows = objectTable(labels32(4, 1, 1, 0, 0, 1, 0, 0, 2, 0, 0, 0, 2), {
    intensity: { width: 4, height: 3, data: Float32Array.of(0.5, 0.25, 0, 0, 1, 0, 0, 0.75, 0, 0, 0, -0.75) },
  });

  it('writes a header, fixed decimals, empty fields for null, CRLF after every record', () => {
    // Row 2's mean is (0.75 - 0.75) / 2 = 0, and row 1's 1.75 / 3 = 0.58333 -> 0.583.
    expect(objectsToCsv(rows)).toBe(
      'id,area,centroidX,centroidY,bboxX,bboxY,bboxWidth,bboxHeight,meanIntensity,meanUncertainty,' +
        'integratedIntensity,equivalentDiameter,perimeter,circularity,majorAxisLength,minorAxisLength,' +
        'eccentricity,orientation,touchesBorder\r\n' +
        '1,3,0.333,0.333,0,0,2,2,0.583,,1.750,1.954,3.414,3.234,2.309,1.333,0.816,45.000,1\r\n' +
        // A two-pixel line: perimeter 0 (scikit-image's rule for line ends), so no circularity.
        '2,2,3.000,1.500,3,1,1,2,0.000,,0.000,1.596,0.000,,2.000,0.000,1.000,90.000,1\r\n',
    );
    expect(objectsToCsv(rows, { decimals: 1 }).split('\r\n')[1]).toBe(
      '1,3,0.3,0.3,0,0,2,2,0.6,,1.8,2.0,3.4,3.2,2.3,1.3,0.8,45.0,1',
    );
  });

  it('adds physical columns for a pixel size: area in um^2, lengths in um only for square pixels', () => {
    const square = objectsToCsv(rows, { pixelSize: { x: 0.5, y: 0.5 } }).split('\r\n');
    expect(square[0]).toBe(`${OBJECT_COLUMNS.join(',')},${PHYSICAL_COLUMNS.join(',')}`);
    // Row 1: area 3 px -> 0.75 um^2; diameter 1.954 px, perimeter 2 + sqrt 2, axes 4/sqrt 3 and 4/3 px, times 0.5.
    expect(square[1]!.endsWith(',0.750,0.977,1.707,1.155,0.667')).toBe(true);
    const aniso = objectsToCsv(rows, { pixelSize: { x: 0.2, y: 0.5 } }).split('\r\n');
    expect(aniso[1]!.endsWith(',0.300,,,,')).toBe(true);
    expect(() => objectsToCsv(rows, { pixelSize: { x: 0, y: 1 } })).toThrow(/pixelSize/);
  });

  it('adds the mean and integrated intensity of every channel of a multi-channel image, alpha left out', () => {
    // 2 channels + alpha over the 4x3 labels: channel 0 = pixel index, channel 1 = 10, alpha = 255.
    const data = new Uint8Array(4 * 3 * 3);
    for (let i = 0; i < 12; i++) data.set([i, 10, 255], i * 3);
    const labels = labels32(4, 1, 1, 0, 0, 1, 0, 0, 2, 0, 0, 0, 2);
    const channels = channelIntensities(labels, { width: 4, height: 3, channels: 3, data, alpha: true });
    expect(channels.channels).toEqual([0, 1]);
    // Object 1: pixels 0, 1, 4; object 2: pixels 7, 11.
    expect(Array.from(channels.integrated[0]!)).toEqual([5, 18]);
    expect(Array.from(channels.mean[0]!)).toEqual([5 / 3, 9]);
    expect(Array.from(channels.mean[1]!)).toEqual([10, 10]);
    const csv = objectsToCsv(rows, { channels, decimals: 2 }).split('\r\n');
    expect(
      csv[0]!.endsWith(',meanIntensityC0,integratedIntensityC0,meanIntensityC1,integratedIntensityC1'),
    ).toBe(true);
    expect(csv[1]!.endsWith(',1.67,5.00,10.00,30.00')).toBe(true);
    expect(() => objectsToCsv(rows.slice(1), { channels })).toThrow(/one value per row/);
    expect(() =>
      channelIntensities(labels, { width: 3, height: 4, channels: 1, data: new Uint8Array(12) }),
    ).toThrow(/want the same size/);
  });

  it('quotes an image name with a comma or quote (RFC 4180), and writes no "-0"', () => {
    const csv = objectsToCsv([{ ...rows[1]!, meanIntensity: -0.0001 }], { image: 'plate 1, "A".tif' });
    expect(csv.split('\r\n')[0]!.startsWith('image,id,')).toBe(true);
    expect(csv.split('\r\n')[1]).toBe(
      '"plate 1, ""A"".tif",2,2,3.000,1.500,3,1,1,2,0.000,,0.000,1.596,0.000,,2.000,0.000,1.000,90.000,1',
    );
    expect(objectsToCsv([], { image: 'plain.tif' })).toBe(`image,${OBJECT_COLUMNS.join(',')}\r\n`);
  });

  it('rejects an impossible number of decimals', () => {
    expectInputError(() => objectsToCsv(rows, { decimals: -1 }), 'invalid-value', 'decimals');
  });
});

describe('postprocess', () => {
  // 6x5 probabilities: a ring of 0.9 around a 0.2 hole, a lone 0.6 pixel, a pair of 0.7, and 0.5s that must
  // stay background (strict threshold).
  const p = [
    [0.9, 0.9, 0.9, 0.0, 0.0, 0.5],
    [0.9, 0.2, 0.9, 0.0, 0.0, 0.5],
    [0.9, 0.9, 0.9, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.6, 0.0],
    [0.7, 0.7, 0.0, 0.0, 0.0, 0.0],
  ];
  const prob = { width: 6, height: 5, data: Float32Array.from(p.flat()) };

  it('thresholds, fills, labels, drops small objects and renumbers', () => {
    const out = postprocess(prob, { threshold: 0.5, fillHoles: true, minArea: 2 });
    // Ring filled to a 3x3 square (area 9, id 1); the lone 0.6 pixel (would be id 2) goes; the 0.7 pair,
    // provisionally id 3, is renumbered 2.
    expect(out.count).toBe(2);
    expect(picture(out.labels)).toEqual(['111000', '111000', '111000', '000000', '220000']);
    expect(picture(out.mask)).toEqual(['111000', '111000', '111000', '000000', '110000']);
    expect(out.objects).toEqual([
      expect.objectContaining({ id: 1, area: 9, centroidX: 1, centroidY: 1 }),
      expect.objectContaining({ id: 2, area: 2, centroidX: 0.5, centroidY: 4 }),
    ]);
  });

  it('keeps the hole without fillHoles, and every object at minArea 1', () => {
    const out = postprocess(prob, { threshold: 0.5, fillHoles: false, minArea: 1, connectivity: 4 });
    expect(out.count).toBe(3);
    expect(picture(out.labels)).toEqual(['111000', '101000', '111000', '000020', '330000']);
    expect(out.objects.map((o) => o.area)).toEqual([8, 1, 2]);
  });

  it('rejects a fillHoles that is not a boolean (a manifest typo must not silently mean false)', () => {
    const options = { threshold: 0.5, fillHoles: 'yes' as unknown as boolean, minArea: 0 };
    expectInputError(() => postprocess(prob, options), 'invalid-value', 'fillHoles');
  });

  it('passes maps through to the object table and checks their sizes first', () => {
    const out = postprocess(prob, { threshold: 0.5, fillHoles: true, minArea: 2 }, { uncertainty: prob });
    // Mean over the filled square: (8 * 0.9 + 0.2) / 9.
    expect(out.objects[0]!.meanUncertainty).toBeCloseTo((8 * Math.fround(0.9) + Math.fround(0.2)) / 9, 12);
    const other = { width: 5, height: 6, data: new Float32Array(30) };
    expectInputError(
      () => postprocess(prob, { threshold: 0.5, fillHoles: true, minArea: 0 }, { intensity: other }),
      'mismatch',
      '5x6',
      '6x5',
    );
  });

  it('gives a mask equal to the labels foreground and objects matching labelComponents of that mask', () => {
    fc.assert(
      fc.property(
        arbMask(12),
        fc.boolean(),
        fc.integer({ min: 0, max: 5 }),
        arbConn,
        (m, fill, minArea, connectivity) => {
          const prob = { ...m, data: Float32Array.from(m.data, (v) => v * 0.75) };
          const out = postprocess(prob, { threshold: 0.5, fillHoles: fill, minArea, connectivity });
          const again = labelComponents(out.mask, connectivity);
          expect(Array.from(again.labels.data)).toEqual(Array.from(out.labels.data));
          expect(again.count).toBe(out.count);
          expect(out.objects.every((o) => o.area >= minArea)).toBe(true);
        },
      ),
    );
  });
});
