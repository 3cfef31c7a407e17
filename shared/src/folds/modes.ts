import { QuorumInputError } from '../errors';
import { createRandom } from '../random';
import { FEATURE_NAMES, FEATURE_SCALE_FLOORS } from './features';

/**
 * Step 1 of the two-step split when metadata names no modes: cluster per-image feature vectors with k-means
 * (standardised features, seeded k-means++ starts, best of several restarts). With `modes` unset, k is chosen by
 * the mean silhouette over 2..maxModes among clusterings whose centres lie at least MIN_SEPARATION feature floors
 * apart, falling back to a single mode when no clustering is convincing.
 */
export interface DiscoverOptions {
  /** Fixed number of modes; omit to choose it. */
  modes?: number;
  maxModes?: number;
  seed: number;
  /** Each mode needs at least this many images, or that k is not considered. */
  minPerMode?: number;
  /** Per-feature minimum spread used when standardising (defaults to FEATURE_SCALE_FLOORS). */
  scaleFloors?: readonly number[];
}

export interface DiscoveredModes {
  /** Image id -> mode name (`mode-1`, `mode-2`, ...; numbered by cluster size, largest first, then by first id). */
  modeOf: Map<string, string>;
  modes: number;
  silhouette: number | null;
  features: readonly string[];
}

const SILHOUETTE_FLOOR = 0.25;
/** Cluster centres closer than this many feature floors apart are one mode measured twice, not two modes. */
const MIN_SEPARATION = 3;

function centreSeparation(raw: number[][], labels: number[], k: number, floors: readonly number[]): number {
  const centres = [...Array(k).keys()].map((c) => {
    const rows = raw.filter((_, i) => labels[i] === c);
    return rows[0]!.map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length / (floors[j] ?? 1));
  });
  let min = Number.POSITIVE_INFINITY;
  for (let a = 0; a < k; a++)
    for (let b = a + 1; b < k; b++) min = Math.min(min, Math.sqrt(dist2(centres[a]!, centres[b]!)));
  return min;
}

function standardise(rows: number[][], floors: readonly number[]): number[][] {
  const d = rows[0]!.length;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j]! += r[j]! / rows.length;
  for (const r of rows) for (let j = 0; j < d; j++) sd[j]! += (r[j]! - mean[j]!) ** 2 / rows.length;
  const scale = sd.map((v, j) => Math.max(Math.sqrt(v), floors[j] ?? 1e-9));
  return rows.map((r) => r.map((v, j) => (v - mean[j]!) / scale[j]!));
}

function dist2(a: number[], b: number[]): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j]! - b[j]!) ** 2;
  return s;
}

export function kmeans(
  points: number[][],
  k: number,
  seed: number,
  restarts = 8,
): { labels: number[]; inertia: number } {
  let best = { labels: [] as number[], inertia: Number.POSITIVE_INFINITY };
  for (let r = 0; r < restarts; r++) {
    const rng = createRandom(seed).fork(`kmeans:${k}:${r}`);
    const centers = [points[rng.int(points.length)]!.slice()];
    while (centers.length < k) {
      const d = points.map((p) => Math.min(...centers.map((c) => dist2(p, c))));
      const total = d.reduce((a, b) => a + b, 0);
      let pick = rng.next() * total;
      let idx = 0;
      while (idx < d.length - 1 && pick >= d[idx]!) pick -= d[idx++]!;
      centers.push(points[idx]!.slice());
    }
    let labels = new Array<number>(points.length).fill(0);
    for (let iter = 0; iter < 100; iter++) {
      const next = points.map((p) => {
        let bi = 0;
        for (let c = 1; c < k; c++) if (dist2(p, centers[c]!) < dist2(p, centers[bi]!)) bi = c;
        return bi;
      });
      const changed = next.some((l, i) => l !== labels[i]) || iter === 0;
      labels = next;
      for (let c = 0; c < k; c++) {
        const members = points.filter((_, i) => labels[i] === c);
        if (members.length)
          centers[c] = members[0]!.map((_, j) => members.reduce((s, m) => s + m[j]!, 0) / members.length);
      }
      if (!changed) break;
    }
    const inertia = points.reduce((s, p, i) => s + dist2(p, centers[labels[i]!]!), 0);
    if (inertia < best.inertia - 1e-12) best = { labels, inertia };
  }
  return best;
}

export function silhouette(points: number[][], labels: number[]): number {
  const k = Math.max(...labels) + 1;
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    const sums = new Array<number>(k).fill(0);
    const counts = new Array<number>(k).fill(0);
    for (let j = 0; j < points.length; j++) {
      if (i === j) continue;
      sums[labels[j]!]! += Math.sqrt(dist2(points[i]!, points[j]!));
      counts[labels[j]!]!++;
    }
    const own = labels[i]!;
    if (counts[own] === 0) continue; // singleton: silhouette 0 by convention
    const a = sums[own]! / counts[own]!;
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) if (c !== own && counts[c]! > 0) b = Math.min(b, sums[c]! / counts[c]!);
    total += (b - a) / Math.max(a, b);
  }
  return total / points.length;
}

export function discoverModes(
  features: ReadonlyMap<string, number[]>,
  options: DiscoverOptions,
): DiscoveredModes {
  const ids = [...features.keys()].sort();
  const minPer = options.minPerMode ?? 2;
  if (options.modes !== undefined && (!Number.isInteger(options.modes) || options.modes < 1)) {
    throw new QuorumInputError(
      'invalid-value',
      '--modes',
      `must be a positive integer (got ${options.modes})`,
    );
  }
  if (options.modes !== undefined && options.modes * minPer > ids.length) {
    throw new QuorumInputError(
      'too-few',
      '--modes',
      `${options.modes} modes need at least ${options.modes * minPer} images; there are ${ids.length}`,
    );
  }
  const floors = options.scaleFloors ?? FEATURE_SCALE_FLOORS;
  const raw = ids.map((id) => features.get(id)!);
  const points = standardise(raw, floors);
  const assign = (labels: number[], k: number, sil: number | null): DiscoveredModes => {
    // Name clusters by size (largest first), ties by first id, so names are stable across reruns.
    const order = [...Array(k).keys()].sort((a, b) => {
      const ca = labels.filter((l) => l === a).length;
      const cb = labels.filter((l) => l === b).length;
      return cb - ca || labels.indexOf(a) - labels.indexOf(b);
    });
    const name = new Map(order.map((c, i) => [c, `mode-${i + 1}`]));
    return {
      modeOf: new Map(ids.map((id, i) => [id, name.get(labels[i]!)!])),
      modes: k,
      silhouette: sil,
      features: FEATURE_NAMES,
    };
  };
  if (options.modes === 1 || ids.length < 2 * minPer)
    return assign(
      ids.map(() => 0),
      1,
      null,
    );
  if (options.modes !== undefined) {
    const { labels } = kmeans(points, options.modes, options.seed);
    return assign(labels, options.modes, silhouette(points, labels));
  }
  const maxK = Math.min(options.maxModes ?? 6, Math.floor(ids.length / minPer));
  let best: { k: number; labels: number[]; s: number } | null = null;
  for (let k = 2; k <= maxK; k++) {
    const { labels } = kmeans(points, k, options.seed);
    const sizes = [...Array(k).keys()].map((c) => labels.filter((l) => l === c).length);
    if (Math.min(...sizes) < minPer) continue;
    if (centreSeparation(raw, labels, k, floors) < MIN_SEPARATION) continue;
    const s = silhouette(points, labels);
    if (!best || s > best.s + 1e-9) best = { k, labels, s };
  }
  if (!best || best.s < SILHOUETTE_FLOOR)
    return assign(
      ids.map(() => 0),
      1,
      best?.s ?? null,
    );
  return assign(best.labels, best.k, best.s);
}
