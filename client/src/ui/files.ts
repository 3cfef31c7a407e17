import type { ExportedFile } from '../engine/types';

/** The bytes of a picked or dropped file. Read locally: nothing is uploaded. */
export async function readFile(file: Blob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

/** Save an exported file through a temporary object URL (the bytes never leave the browser). */
export function saveFile(file: ExportedFile): void {
  const url = URL.createObjectURL(new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** A file name without its extension, for output names (`cells.tif` -> `cells`). */
export function stemOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return (dot > 0 ? base.slice(0, dot) : base) || 'image';
}

/**
 * One output prefix per file, unique within a batch (files picked from different folders may share a name):
 * the stem, then `stem-2`, `stem-3`, ... for later files with the same stem (compared without case, as a
 * case-insensitive file system would when the archive is unpacked).
 */
export function uniqueStems(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    const stem = stemOf(name);
    let candidate = stem;
    for (let k = 2; taken.has(candidate.toLowerCase()); k++) candidate = `${stem}-${k}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}
