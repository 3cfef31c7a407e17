import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A recording HTTP forward proxy for the browser tests. Chromium is launched with `--proxy-server` pointing here and
 * `--proxy-bypass-list=<-loopback>`, so EVERY request of every realm (page, dedicated worker, service worker,
 * pthread workers), to any host, passes through it and is logged with its body. That is what the privacy test
 * reads. It forwards only to loopback hosts: a request for anywhere else is recorded and refused, so a test never
 * reaches the internet. Switches: `offline` (refuse everything, the "network cut"), `tamper` (rewrite a response).
 */
export interface RecordedRequest {
  method: string;
  url: string;
  /** The request body as received (empty for GETs). */
  body: Buffer;
  /** ms since the proxy started. */
  at: number;
  /** Refused: not loopback, offline, or a CONNECT/upgrade. */
  refused: boolean;
  /**
   * For a host other than loopback (always refused, so it never left the machine). Chromium itself makes some:
   * update checks to update.googleapis.com and sign-in probes to accounts.google.com, which no launch flag stops.
   */
  external: boolean;
  /**
   * Chromium's own fetch of a service worker script (it sends `Service-Worker: script`): at registration, and the
   * update checks it makes of its own accord, e.g. while the machine is busy. Never a request of the app's code.
   */
  serviceWorkerScript: boolean;
}

export type Tamper = (body: Buffer) => Buffer;

export interface RecordingProxy {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Refuse every request as if the network were down. */
  offline: boolean;
  /** Rewrite the response body of a path (exact pathname match). */
  tamper: Map<string, Tamper>;
  /** Requests recorded from index `from` on. */
  since(from: number): RecordedRequest[];
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

export async function startRecordingProxy(): Promise<RecordingProxy> {
  const t0 = Date.now();
  const requests: RecordedRequest[] = [];
  const state: Pick<RecordingProxy, 'offline' | 'tamper'> = { offline: false, tamper: new Map() };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let target: URL;
      try {
        target = new URL(req.url ?? '');
      } catch {
        // Not a proxy request (someone talked to the proxy directly).
        res.writeHead(400).end();
        return;
      }
      const external = !LOOPBACK.test(target.hostname);
      const refused = state.offline || external;
      requests.push({
        method: req.method ?? 'GET',
        url: target.href,
        body,
        at: Date.now() - t0,
        refused,
        external,
        serviceWorkerScript: req.headers['service-worker'] === 'script',
      });
      if (refused) {
        req.socket.destroy();
        return;
      }
      const headers: IncomingHttpHeaders = { ...req.headers };
      delete headers['proxy-connection'];
      const tamper = state.tamper.get(target.pathname);
      if (tamper) delete headers['accept-encoding'];
      const upstream = httpRequest(
        {
          host: target.hostname.replace(/^\[|\]$/g, ''),
          port: target.port || 80,
          method: req.method,
          path: target.pathname + target.search,
          headers,
        },
        (up) => {
          if (!tamper) {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
            return;
          }
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            const out = tamper(Buffer.concat(parts));
            const h = { ...up.headers, 'content-length': String(out.byteLength) };
            delete h['etag'];
            delete h['content-range'];
            res.writeHead(up.statusCode ?? 502, h).end(out);
          });
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  // HTTPS and WebSockets would arrive as CONNECT or upgrade: record them and refuse.
  const refuse = (method: string, url: string) =>
    requests.push({
      method,
      url,
      body: Buffer.alloc(0),
      at: Date.now() - t0,
      refused: true,
      // CONNECT's target is host:port.
      external: !LOOPBACK.test(url.replace(/^[a-z]+:\/\//, '').replace(/:\d+(\/.*)?$|\/.*$/, '')),
      serviceWorkerScript: false,
    });
  server.on('connect', (req, socket) => {
    refuse('CONNECT', req.url ?? '');
    socket.destroy();
  });
  server.on('upgrade', (req, socket) => {
    refuse('UPGRADE', req.url ?? '');
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: RecordingProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get offline() {
      return state.offline;
    },
    set offline(v: boolean) {
      state.offline = v;
      // Kept-alive connections would otherwise still carry requests upstream... they cannot (each request is
      // checked), but close them so the browser sees the cut at once.
      if (v) server.closeAllConnections();
    },
    tamper: state.tamper,
    since: (from) => requests.slice(from),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
