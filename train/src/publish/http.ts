/**
 * The publisher's HTTP layer: one place that knows the edge's error shape (`{ "error": ... }`), which failures
 * are worth retrying (network errors, 5xx, 429) and which are final (every other 4xx: retrying a refused token or
 * a hash mismatch cannot succeed).
 */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    message: string,
    /** HTTP status from the edge; undefined for network failures. */
    readonly status?: number,
    /** The edge's JSON error body, when it sent one. */
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface RetryPolicy {
  retries: number;
  /** First backoff in ms; doubled per attempt, with jitter. */
  baseDelayMs: number;
}

export interface EdgeRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  token?: string;
  body?: Uint8Array | string;
  headers?: Record<string, string>;
  /** Statuses that are answers rather than errors (e.g. 404 for a HEAD probe). */
  accept?: number[];
}

export class EdgeClient {
  readonly base: URL;

  constructor(
    edge: string,
    private readonly fetchImpl: FetchLike,
    private readonly retry: RetryPolicy,
  ) {
    this.base = edgeUrl(edge);
  }

  url(path: string): string {
    return new URL(path.replace(/^\//, ''), this.base).href;
  }

  async request(req: EdgeRequest): Promise<Response> {
    const headers: Record<string, string> = { ...req.headers };
    if (req.token) headers['Authorization'] = `Bearer ${req.token}`;
    let attempt = 0;
    for (;;) {
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await this.fetchImpl(this.url(req.path), {
          method: req.method,
          headers,
          // Uint8Array is a valid fetch body in Node and browsers; the DOM and Node typings disagree on its name.
          ...(req.body !== undefined ? { body: req.body as unknown as RequestInit['body'] } : {}),
        });
      } catch (e) {
        failure = e;
      }
      if (res && (res.ok || req.accept?.includes(res.status))) return res;
      const retryable = !res || res.status >= 500 || res.status === 429;
      if (!retryable || attempt >= this.retry.retries) {
        if (!res) {
          throw new PublishError(
            `${req.method} ${this.url(req.path)} failed after ${attempt + 1} attempt(s): ${String((failure as Error)?.message ?? failure)}`,
          );
        }
        throw await errorFrom(res, req, this.url(req.path));
      }
      await res?.body?.cancel().catch(() => {});
      attempt++;
      const delay = this.retry.baseDelayMs * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
    }
  }

  async json<T>(req: EdgeRequest): Promise<T> {
    return (await (await this.request(req)).json()) as T;
  }
}

async function errorFrom(res: Response, req: EdgeRequest, url: string): Promise<PublishError> {
  let body: Record<string, unknown> | undefined;
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  const reason = typeof body?.['error'] === 'string' ? body['error'] : res.statusText;
  return new PublishError(`${req.method} ${url}: ${res.status} ${reason}`, res.status, body);
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/**
 * The edge's base URL. Plain http is allowed for loopback only (wrangler dev): anywhere else it would send the
 * publish token in clear text.
 */
export function edgeUrl(edge: string): URL {
  let url: URL;
  try {
    url = new URL(edge);
  } catch {
    throw new PublishError(`--edge ${JSON.stringify(edge)} is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    throw new PublishError(`--edge must be an https:// URL (http:// only for localhost), got ${url.origin}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}
