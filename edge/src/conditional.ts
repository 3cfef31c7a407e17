/**
 * RFC 9110 preconditions against a known entity tag. Every ETag here is derived from content (a blob's or a
 * manifest's sha256), so preconditions are decided without reading storage.
 */
function tags(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** If-None-Match: `*` or any listed tag, compared weakly (W/"x" matches "x"). True means "not modified". */
export function noneMatch(header: string | null, etag: string | null): boolean {
  if (header === null || etag === null) return false;
  return tags(header).some((t) => t === '*' || t.replace(/^W\//, '') === etag);
}

/** If-Match: `*` or a listed tag, compared strongly (a weak tag never matches). True means "precondition failed". */
export function matchFails(header: string | null, etag: string | null): boolean {
  if (header === null) return false;
  if (etag === null) return true;
  return !tags(header).some((t) => t === '*' || t === etag);
}
