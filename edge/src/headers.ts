/**
 * Cross-origin policy. Portals embed the widget, and an embedding page may itself be cross-origin isolated (it
 * needs that for WASM threads), so every public response must be both CORS-readable and explicitly allowed as a
 * cross-origin resource (`Cross-Origin-Resource-Policy: cross-origin`), or `require-corp` pages would block it.
 */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** `latest` moves on promote/rollback: short-lived, then revalidated by ETag (a 304 costs no body). */
export const SHORT_LIVED = 'public, max-age=30, must-revalidate';

const CORS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers':
    'Content-Length, Content-Range, Accept-Ranges, ETag, Content-Location, X-Quorum-Version',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'X-Content-Type-Options': 'nosniff',
};

/**
 * Preflight answer. Only reads are offered to browsers: publishing comes from the CLI, which is not subject to
 * CORS, so not listing PUT/POST/DELETE or Authorization keeps a malicious page from driving a browser to publish.
 * Range and If-None-Match are listed because a fetch that sets them is preflighted.
 */
export function preflight(): Response {
  return new Response(null, {
    status: 204,
    headers: {
      ...CORS,
      'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
      'Access-Control-Allow-Headers': 'Range, If-None-Match, If-Match, If-Range, Content-Type',
      'Access-Control-Max-Age': '86400',
      'Cache-Control': 'public, max-age=86400',
    },
  });
}

/** Response headers of runtime objects (cache hits, fetch results) are immutable: copy before editing. */
export function withHeaders(response: Response, headers: Record<string, string>): Response {
  const out = new Response(response.body, response);
  for (const [k, v] of Object.entries(headers)) out.headers.set(k, v);
  return out;
}

export function withCors(response: Response): Response {
  return withHeaders(response, CORS);
}

/**
 * The app's own pages need cross-origin isolation (COOP + COEP) for SharedArrayBuffer, hence WASM threads. Set on
 * every asset (scripts and worker scripts too, which need COEP for a worker to be isolated), plus the CORS/CORP
 * headers so the widget script can be loaded by other origins.
 */
export function withIsolation(response: Response): Response {
  return withHeaders(response, {
    ...CORS,
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
  });
}
