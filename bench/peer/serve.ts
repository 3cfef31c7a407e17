import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';

/**
 * A static loopback server for the peer page. Files are given either in memory or as a path read on request
 * (ORT's WASM binaries are tens of MB and only one is fetched). No COOP/COEP headers: the page must NOT be
 * cross-origin isolated, so both runtimes use their single-threaded set-up.
 */
export type Served = { type: string; body: string | Uint8Array } | { type: string; file: string };

export interface StaticSite {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};

/** MIME type by extension: WASM streaming compilation and module scripts both refuse a wrong one. */
export function mimeType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export async function startStaticSite(files: ReadonlyMap<string, Served>): Promise<StaticSite> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const entry = files.get(path);
    if (!entry || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    const body = 'file' in entry ? readFile(entry.file) : Promise.resolve(entry.body);
    body.then(
      (b) => res.writeHead(200, { 'Content-Type': entry.type, 'Cache-Control': 'no-store' }).end(b),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
