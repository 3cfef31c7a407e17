/**
 * The objects present in a label image: distinct nonzero ids (ascending), their pixel counts, and each pixel's
 * slot in those arrays. Everything that aggregates per object (areas, object tables, overlaps) goes through this,
 * so sparse or huge ids (a Uint32 image with id 4e9) cost memory proportional to the objects, not to the ids.
 */
export interface LabelIndex {
  /** Distinct nonzero ids, ascending. */
  ids: Uint32Array;
  /** `areas[k]` is the pixel count of `ids[k]`. */
  areas: Uint32Array;
  /** Per pixel: the slot k of its id, or -1 for background. */
  slots: Int32Array;
}

export function indexLabels(data: Uint16Array | Uint32Array): LabelIndex {
  const n = data.length;
  let max = 0;
  for (let i = 0; i < n; i++) if (data[i]! > max) max = data[i]!;
  // A dense id -> slot table is fastest; use it unless the ids are far sparser than the pixels.
  const lookup = max <= 2 * n + 65536 ? denseLookup(data, max) : sparseLookup(data);
  const slots = new Int32Array(n);
  const areas = new Uint32Array(lookup.ids.length);
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    if (v === 0) {
      slots[i] = -1;
    } else {
      const k = lookup.slotOf(v);
      slots[i] = k;
      areas[k]!++;
    }
  }
  return { ids: lookup.ids, areas, slots };
}

interface Lookup {
  ids: Uint32Array;
  slotOf(id: number): number;
}

function denseLookup(data: Uint16Array | Uint32Array, max: number): Lookup {
  const present = new Uint8Array(max + 1);
  for (let i = 0; i < data.length; i++) present[data[i]!] = 1;
  const table = new Int32Array(max + 1).fill(-1);
  const ids: number[] = [];
  for (let id = 1; id <= max; id++) {
    if (present[id]) {
      table[id] = ids.length;
      ids.push(id);
    }
  }
  return { ids: Uint32Array.from(ids), slotOf: (id) => table[id]! };
}

function sparseLookup(data: Uint16Array | Uint32Array): Lookup {
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) seen.add(data[i]!);
  const ids = Uint32Array.from(seen).sort();
  const table = new Map<number, number>();
  for (let k = 0; k < ids.length; k++) table.set(ids[k]!, k);
  return { ids, slotOf: (id) => table.get(id)! };
}
