import type { ObjectRow } from '@quorum/shared';
import { physicalScale } from '@quorum/shared/calibration';

/** The per-object table: one row per nucleus, sortable by any column (click a header; again to reverse). */
interface Column {
  key: keyof ObjectRow;
  label: string;
  /** Decimals shown; or a formatter for columns that are not plain numbers. */
  digits: number | ((v: number) => string);
  /** Header tooltip: what the column measures, where the label alone is ambiguous. */
  title?: string;
  /** An area or a length: shown with this label and these decimals in um^2 or um when the pixel size allows. */
  physical?: { kind: 'area' | 'length'; label: string; digits: number };
}

// The screen shows what a quick look needs; the CSV download has every measurement (OBJECT_COLUMNS).
const COLUMNS: readonly Column[] = [
  { key: 'id', label: 'id', digits: 0 },
  { key: 'area', label: 'area (px)', digits: 0, physical: { kind: 'area', label: 'area (µm²)', digits: 1 } },
  { key: 'centroidX', label: 'x', digits: 1 },
  { key: 'centroidY', label: 'y', digits: 1 },
  {
    key: 'equivalentDiameter',
    label: 'diameter (px)',
    digits: 1,
    title: 'diameter of the disc of equal area',
    physical: { kind: 'length', label: 'diameter (µm)', digits: 2 },
  },
  {
    key: 'circularity',
    label: 'circularity',
    digits: 2,
    title: '4 pi area / perimeter squared: 1 for a disc (small objects can exceed 1)',
  },
  {
    key: 'eccentricity',
    label: 'eccentricity',
    digits: 2,
    title: 'of the ellipse with the same second moments: 0 round, towards 1 elongated',
  },
  { key: 'meanIntensity', label: 'mean intensity', digits: 1 },
  {
    key: 'integratedIntensity',
    label: 'integrated intensity',
    digits: 0,
    title: 'sum of the raw image over the object',
  },
  { key: 'meanUncertainty', label: 'mean uncertainty', digits: 3 },
  {
    key: 'touchesBorder',
    label: 'on edge',
    digits: (v) => (v === 1 ? 'yes' : ''),
    title: 'touches the image edge, so it may be cut off',
  },
];

export type SortDirection = 'ascending' | 'descending';

/** Rows sorted by one column; nulls last, ties by id so the order is stable and total. */
export function sortRows(rows: readonly ObjectRow[], key: keyof ObjectRow, dir: SortDirection): ObjectRow[] {
  const sign = dir === 'ascending' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === y) return a.id - b.id;
    if (x === null) return 1;
    if (y === null) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}

export class ObjectTable {
  private rows: readonly ObjectRow[] = [];
  private key: keyof ObjectRow = 'id';
  private dir: SortDirection = 'ascending';
  private scale: { area: number; length: number | null } | null = null;
  private selected = 0;

  /** `onSelect`: a row was clicked (its object id), so the page can mark that object in the image. */
  constructor(
    private readonly table: HTMLTableElement,
    private readonly onSelect: (id: number) => void = () => {},
  ) {}

  /** Marks the row of object `id` (0: none) and scrolls it into view; no event is sent back. */
  select(id: number): void {
    this.selected = id;
    for (const r of Array.from(this.table.tBodies[0]?.rows ?? [])) {
      const on = Number(r.dataset['id']) === id;
      r.classList.toggle('selected', on);
      r.setAttribute('aria-selected', String(on));
      if (on) r.scrollIntoView({ block: 'nearest' });
    }
  }

  /** New rows, with the pixel size their image has (undefined: pixels), in one render. */
  show(rows: readonly ObjectRow[], size?: { x: number; y: number }): void {
    this.rows = rows;
    this.selected = 0;
    this.setPixelSize(size);
  }

  /** Micrometres per pixel for the area and diameter columns; undefined shows pixels. */
  setPixelSize(size: { x: number; y: number } | undefined): void {
    this.scale = size === undefined ? null : physicalScale(size);
    this.render();
  }

  /** The column as shown: in physical units where the pixel size allows (lengths need square pixels). */
  private shown(c: Column): { label: string; digits: Column['digits']; factor: number } {
    const factor =
      !c.physical || !this.scale ? null : c.physical.kind === 'area' ? this.scale.area : this.scale.length;
    return factor === null || !c.physical
      ? { label: c.label, digits: c.digits, factor: 1 }
      : { label: c.physical.label, digits: c.physical.digits, factor };
  }

  sortBy(key: keyof ObjectRow): void {
    this.dir = this.key === key && this.dir === 'ascending' ? 'descending' : 'ascending';
    this.key = key;
    this.render();
  }

  private render(): void {
    const doc = this.table.ownerDocument;
    const head = doc.createElement('thead');
    const tr = doc.createElement('tr');
    for (const c of COLUMNS) {
      const th = doc.createElement('th');
      th.scope = 'col';
      th.dataset['key'] = c.key;
      if (c.key === this.key) th.setAttribute('aria-sort', this.dir);
      const button = doc.createElement('button');
      button.type = 'button';
      button.textContent = this.shown(c).label;
      if (c.title !== undefined) button.title = c.title;
      button.addEventListener('click', () => this.sortBy(c.key));
      th.append(button);
      tr.append(th);
    }
    head.append(tr);
    const body = doc.createElement('tbody');
    for (const row of sortRows(this.rows, this.key, this.dir)) {
      const r = doc.createElement('tr');
      r.dataset['id'] = String(row.id);
      r.setAttribute('aria-selected', String(row.id === this.selected));
      if (row.id === this.selected) r.classList.add('selected');
      r.addEventListener('click', () => {
        this.select(row.id);
        this.onSelect(row.id);
      });
      for (const c of COLUMNS) {
        const td = doc.createElement('td');
        const v = row[c.key];
        const { digits, factor } = this.shown(c);
        td.textContent =
          v === null ? '' : typeof digits === 'number' ? (v * factor).toFixed(digits) : digits(v);
        r.append(td);
      }
      body.append(r);
    }
    this.table.replaceChildren(head, body);
  }
}
