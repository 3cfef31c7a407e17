import { QuorumInputError } from '@quorum/shared';

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into header-keyed rows. */
export function parseCsv(text: string, source: string): { header: string[]; rows: Record<string, string>[] } {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      if (record.some((f) => f !== '')) records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new QuorumInputError('truncated', source, 'ends inside a quoted field');
  record.push(field);
  if (record.some((f) => f !== '')) records.push(record);
  if (records.length === 0)
    throw new QuorumInputError('missing', source, 'is empty (expected a header line)');
  const header = records[0]!.map((h) => h.trim().replace(/^\uFEFF/, ''));
  const rows = records.slice(1).map((r, i) => {
    if (r.length !== header.length) {
      throw new QuorumInputError(
        'invalid-value',
        `${source} line ${i + 2}`,
        `has ${r.length} fields, the header has ${header.length}`,
      );
    }
    return Object.fromEntries(header.map((h, j) => [h, r[j]!.trim()]));
  });
  return { header, rows };
}
