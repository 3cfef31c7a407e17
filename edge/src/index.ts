import { serveAsset } from './assets';
import { getBlob, putBlob, type RouteContext } from './blobs';
import { discardBody } from './body';
import {
  deleteVersion,
  getEnsemble,
  getLatestManifest,
  getVersionManifest,
  listEnsembles,
  putManifest,
  setLatest,
} from './ensembles';
import type { Env } from './env';
import { preflight, withCors } from './headers';
import { errorResponse, HttpError } from './http';
import { Router } from './router';

/**
 * Quorum's edge worker: the ensemble registry and blob store under /v1, the hosted app and widget everywhere else.
 * Order matters where a static segment and a parameter compete: `latest` is registered before `:version`.
 */
const api = new Router<RouteContext>()
  .get('/v1/ensembles', listEnsembles)
  .get('/v1/ensembles/:name', getEnsemble)
  .get('/v1/ensembles/:name/latest', getLatestManifest)
  .post('/v1/ensembles/:name/latest', setLatest)
  .get('/v1/ensembles/:name/:version', getVersionManifest)
  .put('/v1/ensembles/:name/:version', putManifest)
  .delete('/v1/ensembles/:name/:version', deleteVersion)
  .get('/v1/blobs/:sha256', getBlob)
  .put('/v1/blobs/:sha256', putBlob);

async function handleApi(request: Request, env: Env, ctx: ExecutionContext, pathname: string) {
  if (request.method === 'OPTIONS') return preflight();
  const match = api.match(request.method, pathname);
  try {
    if (match.kind === 'not-found')
      throw new HttpError(404, `no route ${request.method} ${pathname.slice(0, 200)}`);
    if (match.kind === 'method-not-allowed') {
      throw new HttpError(405, `method ${request.method} not allowed`, {}, { Allow: match.allow.join(', ') });
    }
    return await match.run(request, { env, ctx });
  } catch (e) {
    await discardBody(request);
    if (e instanceof HttpError) return errorResponse(e);
    console.error('unhandled error', request.method, pathname, e);
    return errorResponse(new HttpError(500, 'internal error'));
  }
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    // `URL` has already resolved dot segments (`/a/../b`, `%2e%2e`) but keeps other escapes such as `%2F`.
    const { pathname } = new URL(request.url);
    if (pathname === '/v1' || pathname.startsWith('/v1/')) {
      return withCors(await handleApi(request, env, ctx, pathname));
    }
    return serveAsset(request, env);
  },
} satisfies ExportedHandler<Env>;
