import { HttpError } from './http';

/**
 * Read a request body of at most `max` bytes. A declared Content-Length over the limit is refused before reading
 * anything; a chunked body is counted as it arrives and abandoned the moment it passes the limit, so an oversized
 * body never sits in the isolate's 128 MB of memory.
 */
export async function readLimited(request: Request, max: number, what: string): Promise<Uint8Array> {
  const declared = request.headers.get('Content-Length');
  if (declared !== null && Number(declared) > max) throw tooLarge(what, max);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge(what, max);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

export function tooLarge(what: string, max: number): HttpError {
  return new HttpError(413, `${what} is larger than the limit of ${max} bytes`);
}

export async function readJson(request: Request, max: number, what: string): Promise<unknown> {
  const bytes = await readLimited(request, max, what);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpError(400, `${what} is not valid JSON`);
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Bodies up to this size are read and dropped rather than cancelled when a request is refused. */
const DRAIN_LIMIT = 1024 * 1024;

/**
 * Dispose of a body the handler will not read (a refused or redundant request). Cancelling it forces the server
 * to close the connection, and a client that pipelines or pools connections then sees a reset on its next request
 * instead of the refusal; so a small body is read and dropped, keeping the connection reusable. A large or
 * unknown-length body is cancelled: reading 100 MB to say 401 would be the worse deal.
 */
export async function discardBody(request: Request): Promise<void> {
  if (!request.body || request.bodyUsed) return;
  const declared = Number(request.headers.get('Content-Length') ?? Number.NaN);
  try {
    if (declared <= DRAIN_LIMIT) await request.arrayBuffer();
    else await request.body.cancel();
  } catch {
    // The client went away; nothing to keep alive.
  }
}
