import type { Env } from './env';
import { withIsolation } from './headers';

/**
 * Static assets (the hosted app under client/dist and the widget script). wrangler.toml sets
 * `run_worker_first = true` so every asset response passes through here and gets the isolation headers; the asset
 * worker itself handles ETags, 304s, content types and HTML routing.
 */
export async function serveAsset(request: Request, env: Env): Promise<Response> {
  const response = await env.ASSETS.fetch(request);
  return withIsolation(response);
}
