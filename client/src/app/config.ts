import { type AdaptiveMode, BACKEND_REQUESTS, type BackendRequest } from '../engine/types';

/**
 * The app's settings, from its URL: `?ensemble=NAME&version=V&backend=wasm&adaptive=off&sw=off` (adaptive defaults to exact). The edge is
 * the app's own origin (the worker serves both), unless `edge=` names another.
 */
export interface AppConfig {
  edge: string;
  ensemble: string;
  version?: string;
  backend: BackendRequest;
  adaptive: AdaptiveMode;
  /** Register the offline service worker (default on). */
  offline: boolean;
}

export const DEFAULT_ENSEMBLE = 'dsb2018-fluo';

export function appConfig(location: Pick<Location, 'search' | 'origin'>): AppConfig {
  const q = new URLSearchParams(location.search);
  const backend = q.get('backend') ?? 'auto';
  const version = q.get('version');
  return {
    edge: q.get('edge') || location.origin,
    ensemble: q.get('ensemble') || DEFAULT_ENSEMBLE,
    ...(version ? { version } : {}),
    backend: (BACKEND_REQUESTS as readonly string[]).includes(backend) ? (backend as BackendRequest) : 'auto',
    adaptive: q.get('adaptive') === 'off' ? 'off' : 'exact',
    offline: q.get('sw') !== 'off',
  };
}
