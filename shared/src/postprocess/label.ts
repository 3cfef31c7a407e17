import { type Connectivity, checkConnectivity, checkMap, type LabelImage32, type Mask } from './map2d';

export interface Labelled {
  labels: LabelImage32;
  /** Number of objects; the ids are exactly 1..count. */
  count: number;
}

/**
 * Connected-component labelling. Ids are 1..count in raster order of each object's first pixel (the topmost
 * row, then leftmost column), so the numbering is a function of the mask alone, which scikit-image's
 * `measure.label` also gives.
 *
 * Two raster passes with union-find over provisional labels: no recursion and no per-pixel queue, so a
 * 4096x4096 all-foreground mask costs two scans and one provisional label.
 */
export function labelComponents(mask: Mask, connectivity: Connectivity = 8): Labelled {
  checkMap(mask, 'mask');
  checkConnectivity(connectivity);
  const { width: w, height: h, data: m } = mask;
  const labels = new Uint32Array(w * h);
  const sets = new DisjointSets();
  if (connectivity === 8) firstPass8(m, w, h, labels, sets);
  else firstPass4(m, w, h, labels, sets);

  // A provisional label is created only at an object pixel whose earlier neighbours are all background, so
  // each object's smallest provisional label is its first pixel's. Unions keep the smaller label as root, so
  // roots in increasing order are objects in raster order of their first pixel.
  const { ids, count } = sets.resolve();
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) labels[i] = ids[labels[i]!]!;
  return { labels: { width: w, height: h, data: labels }, count };
}

/**
 * 8-connected first pass with the decision tree of Wu, Otoo and Suzuki (2005): of the visited neighbours
 * (NW, N, NE, W), any two that touch each other were already united when the later one was labelled, so at
 * most one union per pixel is needed (NE with W or NW), and none when N is foreground.
 */
function firstPass8(m: Uint8Array, w: number, h: number, labels: Uint32Array, sets: DisjointSets): void {
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      if (m[i] === 0) continue;
      const n = y > 0 ? labels[i - w]! : 0;
      if (n !== 0) {
        labels[i] = n;
        continue;
      }
      const ne = y > 0 && x < w - 1 ? labels[i - w + 1]! : 0;
      const west = x > 0 ? labels[i - 1]! : 0;
      const nw = y > 0 && x > 0 ? labels[i - w - 1]! : 0;
      const left = west !== 0 ? west : nw;
      if (left !== 0) {
        labels[i] = left;
        if (ne !== 0) sets.union(left, ne);
      } else {
        labels[i] = ne !== 0 ? ne : sets.add();
      }
    }
  }
}

/** 4-connected first pass: W and N are the only visited neighbours, and they do not touch each other. */
function firstPass4(m: Uint8Array, w: number, h: number, labels: Uint32Array, sets: DisjointSets): void {
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      if (m[i] === 0) continue;
      const n = y > 0 ? labels[i - w]! : 0;
      const west = x > 0 ? labels[i - 1]! : 0;
      if (n !== 0) {
        labels[i] = n;
        if (west !== 0 && west !== n) sets.union(n, west);
      } else {
        labels[i] = west !== 0 ? west : sets.add();
      }
    }
  }
}

/** Union-find over provisional labels 1..size, roots always the smallest member, with path halving. */
class DisjointSets {
  private parent = new Uint32Array(1024);
  private size = 0;

  add(): number {
    const l = ++this.size;
    if (l === this.parent.length) {
      const grown = new Uint32Array(this.parent.length * 2);
      grown.set(this.parent);
      this.parent = grown;
    }
    this.parent[l] = l;
    return l;
  }

  find(l: number): number {
    const p = this.parent;
    while (p[l] !== l) {
      p[l] = p[p[l]!]!;
      l = p[l]!;
    }
    return l;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra < rb) this.parent[rb] = ra;
    else if (rb < ra) this.parent[ra] = rb;
  }

  /** Final ids 1..count numbered by increasing root; `ids[provisional]` is a label's final id. */
  resolve(): { ids: Uint32Array; count: number } {
    const p = this.parent;
    const ids = new Uint32Array(this.size + 1);
    let count = 0;
    for (let l = 1; l <= this.size; l++) {
      // Parents are smaller than their children, so p[l]'s final id is already known.
      ids[l] = p[l] === l ? ++count : ids[this.find(l)]!;
    }
    return { ids, count };
  }
}
