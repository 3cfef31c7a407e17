import { HttpError } from './http';

/**
 * A tiny typed router in the spirit of Hono's: `:param` segments are typed from the pattern string, so a handler
 * for `/v1/ensembles/:name/:version` receives `{ name: string; version: string }` and nothing else.
 *
 * Matching works on the raw (still percent-encoded) path segments and decodes each parameter afterwards, so an
 * encoded slash (`a%2Fb`) stays inside one parameter where the name validators reject it, instead of shifting the
 * route. Static segments win over parameters because routes are tried in registration order.
 */
type ParamKeys<P extends string> = P extends `${string}:${infer K}/${infer Rest}`
  ? K | ParamKeys<Rest>
  : P extends `${string}:${infer K}`
    ? K
    : never;

export type Params<P extends string> = { [K in ParamKeys<P>]: string };

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';

export type Handler<P extends string, C> = (
  request: Request,
  params: Params<P>,
  context: C,
) => Response | Promise<Response>;

interface Route<C> {
  method: Method;
  segments: string[];
  // Params are checked by the pattern's type at registration; at run time they are a plain record.
  handler: (request: Request, params: Record<string, string>, context: C) => Response | Promise<Response>;
}

export type Match<C> =
  | { kind: 'found'; run: (request: Request, context: C) => Response | Promise<Response> }
  | { kind: 'method-not-allowed'; allow: Method[] }
  | { kind: 'not-found' };

export class Router<C> {
  private readonly routes: Route<C>[] = [];

  on<P extends string>(method: Method, pattern: P, handler: Handler<P, C>): this {
    this.routes.push({
      method,
      segments: pattern.split('/'),
      handler: handler as unknown as Route<C>['handler'],
    });
    return this;
  }

  get<P extends string>(pattern: P, handler: Handler<P, C>): this {
    return this.on('GET', pattern, handler);
  }
  head<P extends string>(pattern: P, handler: Handler<P, C>): this {
    return this.on('HEAD', pattern, handler);
  }
  put<P extends string>(pattern: P, handler: Handler<P, C>): this {
    return this.on('PUT', pattern, handler);
  }
  post<P extends string>(pattern: P, handler: Handler<P, C>): this {
    return this.on('POST', pattern, handler);
  }
  delete<P extends string>(pattern: P, handler: Handler<P, C>): this {
    return this.on('DELETE', pattern, handler);
  }

  /** HEAD falls back to the GET handler when no HEAD route is registered (the runtime drops the body). */
  match(method: string, pathname: string): Match<C> {
    const parts = pathname.split('/');
    const allow = new Set<Method>();
    let headFallback: Match<C> | undefined;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      allow.add(route.method);
      if (route.method === 'GET') allow.add('HEAD');
      const run = (request: Request, context: C) => route.handler(request, decodeParams(params), context);
      if (route.method === method) return { kind: 'found', run };
      if (method === 'HEAD' && route.method === 'GET' && !headFallback) headFallback = { kind: 'found', run };
    }
    if (headFallback) return headFallback;
    if (allow.size > 0) return { kind: 'method-not-allowed', allow: [...allow] };
    return { kind: 'not-found' };
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = parts[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return null;
  }
  return params;
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    try {
      out[k] = decodeURIComponent(v);
    } catch {
      throw new HttpError(400, `path parameter ${k} is not valid percent-encoding`);
    }
  }
  return out;
}
