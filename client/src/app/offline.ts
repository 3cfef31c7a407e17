/**
 * Registers the service worker that keeps the app shell for offline use (the engine keeps the model blobs in the
 * Cache API itself). sw.js sits at the root of the build, beside index.html, so its scope is the whole app.
 * Failure only costs offline support, so it is logged, not shown.
 */
export function registerServiceWorker(enabled: boolean): void {
  if (!enabled || !('serviceWorker' in navigator) || !isSecureContext) return;
  navigator.serviceWorker
    .register('./sw.js')
    .catch((e: unknown) => console.warn('offline support unavailable:', e));
}
