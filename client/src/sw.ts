/// <reference lib="webworker" />

/**
 * The app's service worker: it precaches the app shell (every file of the build, listed into this file at build
 * time) so the app opens offline after the first visit. Ensemble blobs are not its business: the engine caches
 * them by sha256 itself, and the API (/v1/...) always goes to the network untouched.
 */
// One program type-checks page and workers (DOM + WebWorker libs), so `self` is typed as a window there.
const sw = self as unknown as ServiceWorkerGlobalScope;

// Replaced with {"version": ..., "files": [...]} by the build (vite.config.ts, quorum-precache).
const PRECACHE = '__QUORUM_PRECACHE__' as unknown as { version: string; files: string[] };
const PREFIX = 'quorum-shell-';
const CACHE = PREFIX + PRECACHE.version;
/** A navigation that gets no answer in this long is served from the cache (a captive or dead network). */
const NAVIGATION_TIMEOUT_MS = 4000;
/**
 * Pauses before the second and third try of the precache: one dropped connection during the first visit would
 * otherwise fail the install (cache.addAll is all or nothing) and leave that visit without offline support.
 */
const PRECACHE_RETRY_PAUSES_MS = [250, 1000];

async function precache(cache: Cache): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await cache.addAll(PRECACHE.files);
      return;
    } catch (e) {
      const pause = PRECACHE_RETRY_PAUSES_MS[attempt];
      if (pause === undefined) throw e;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      await precache(await caches.open(CACHE));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
      }
      await sw.clients.claim();
    })(),
  );
});

async function fromCache(request: Request): Promise<Response | undefined> {
  const cache = await caches.open(CACHE);
  return (
    (await cache.match(request, { ignoreSearch: true })) ??
    (request.mode === 'navigate' ? await cache.match('./') : undefined)
  );
}

async function networkFirst(request: Request): Promise<Response> {
  try {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('timeout')), NAVIGATION_TIMEOUT_MS),
    );
    return await Promise.race([fetch(request), timeout]);
  } catch (e) {
    const hit = await fromCache(request);
    if (hit) return hit;
    throw e;
  }
}

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== sw.location.origin || url.pathname.startsWith('/v1/'))
    return;
  // Hashed assets never change under one name: cache first. Pages and stable names: network first.
  if (url.pathname.includes('/assets/')) {
    event.respondWith(fromCache(request).then((hit) => hit ?? fetch(request)));
  } else {
    event.respondWith(networkFirst(request));
  }
});
