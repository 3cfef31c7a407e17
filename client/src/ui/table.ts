import type { ObjectRow } from '@quorum/shared';

/** The per-object table: one row per nucleus, sortable by any column (click a header; again to reverse). */
interface Column {
  key: keyof ObjectRow;
  label: string;
  digits: number;
}

const COLUMNS: readonly Column[] = [
  { key: 'id', label: 'id', digits: 0 },
  { key: 'area', label: 'area (px)', digits: 0 },
  { key: 'centroidX', label: 'x', digits: 1 },
  { key: 'centroidY', label: 'y', digits: 1 },
  { key: 'bboxWidth', label: 'width', digits: 0 },
  { key: 'bboxHeight', label: 'height', digits: 0 },
  { key: 'meanIntensity', label: 'mean intensity', digits: 1 },
  { key: 'meanUncertainty', label: 'mean uncertainty', digits: 3 },
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

  constructor(private readonly table: HTMLTableElement) {}

  show(rows: readonly ObjectRow[]): void {
    this.rows = rows;
    this.render();
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
      button.textContent = c.label;
      button.addEventListener('click', () => this.sortBy(c.key));
      th.append(button);
      tr.append(th);
    }
    head.append(tr);
    const body = doc.createElement('tbody');
    for (const row of sortRows(this.rows, this.key, this.dir)) {
      const r = doc.createElement('tr');
      for (const c of COLUMNS) {
        const td = doc.createElement('td');
        const v = row[c.key];
        td.textContent = v === null ? '' : v.toFixed(c.digits);
        r.append(td);
      }
      body.append(r);
    }
    this.table.replaceChildren(head, body);
  }
}
