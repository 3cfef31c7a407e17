/** The batch's table on the page: one row per picked file, its object count or why it failed. */
export type BatchRowState = 'queued' | 'running' | 'done' | 'error' | 'cancelled';

export class BatchList {
  private rows: HTMLTableRowElement[] = [];

  constructor(private readonly body: HTMLTableSectionElement) {}

  reset(names: readonly string[]): void {
    this.rows = names.map((name) => {
      const row = document.createElement('tr');
      for (let i = 0; i < 3; i++) row.append(document.createElement('td'));
      row.cells[0]!.textContent = name;
      return row;
    });
    this.body.replaceChildren(...this.rows);
    for (let i = 0; i < names.length; i++) this.set(i, 'queued');
  }

  /** `detail`: the object count for a finished image, the message for a failed one. */
  set(index: number, state: BatchRowState, detail = ''): void {
    const row = this.rows[index];
    if (!row) return;
    row.dataset['state'] = state;
    const [, count, status] = row.cells;
    count!.textContent = state === 'done' ? detail : '';
    status!.dataset['state'] = state;
    status!.textContent =
      state === 'done' ? 'done' : state === 'error' ? detail : state === 'running' ? 'segmenting…' : state;
  }
}
