/**
 * Every error leaves the worker as `{ "error": "..." }` with a meaningful status. Handlers throw HttpError and the
 * entry point turns it into JSON, so no handler has to remember the error shape.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache', ...headers },
  });
}

export function errorResponse(e: HttpError): Response {
  // Errors must never be cached: a 404 for a blob that is uploaded a second later would otherwise stick.
  return json({ error: e.message, ...e.extra }, e.status, { 'Cache-Control': 'no-store', ...e.headers });
}

/** Quote user input in an error message without echoing a 10 kB hostile value back. */
export function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value);
}
