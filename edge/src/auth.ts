import type { Env } from './env';
import { HttpError } from './http';

const encoder = new TextEncoder();
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="quorum-publish"' };

/**
 * Publishing requests carry `Authorization: Bearer <token>` matching the PUBLISH_TOKEN secret. Both sides are
 * hashed to fixed-length digests before `timingSafeEqual`, so neither the comparison time nor an early length check
 * leaks anything about the secret. With no secret configured, publishing is off (fail closed), not open.
 */
export async function requirePublisher(request: Request, env: Env): Promise<void> {
  const secret = env.PUBLISH_TOKEN;
  if (!secret) throw new HttpError(503, 'publishing is disabled: the PUBLISH_TOKEN secret is not set');
  const header = request.headers.get('Authorization');
  const match = header?.match(/^Bearer[ ]+(\S{1,4096})[ ]*$/i);
  if (!match) {
    throw new HttpError(401, 'missing bearer token (Authorization: Bearer <token>)', {}, CHALLENGE);
  }
  if (!(await constantTimeEqual(match[1]!, secret))) {
    throw new HttpError(
      401,
      'invalid bearer token',
      {},
      {
        'WWW-Authenticate': 'Bearer realm="quorum-publish", error="invalid_token"',
      },
    );
  }
}

async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(a)),
    crypto.subtle.digest('SHA-256', encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(da, db);
}
