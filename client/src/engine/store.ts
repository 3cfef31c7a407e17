/**
 * Where verified blobs and the last good manifests live between visits. Blobs are content-addressed, so one copy
 * serves every ensemble version (and every edge) that lists the same sha256; that is what makes a new version
 * download only its new blobs.
 */
export interface EngineStore {
  getBlob(sha256: string): Promise<Uint8Array | undefined>;
  putBlob(sha256: string, bytes: Uint8Array): Promise<void>;
  deleteBlob(sha256: string): Promise<void>;
  /** The last manifest text fetched from `url`, for offline use. */
  getManifest(url: string): Promise<string | undefined>;
  putManifest(url: string, text: string): Promise<void>;
}

/**
 * Cache-API keys must be http(s) URLs. Blobs are keyed under a reserved `.invalid` host (RFC 6761), so a key can
 * never be mistaken for a real request and is the same whichever edge served the bytes.
 */
const BLOB_KEY = 'https://quorum.invalid/blobs/';
const MANIFEST_KEY = 'https://quorum.invalid/manifests/';

/** The Cache API store (page, worker and service worker realms all have `caches` in secure contexts). */
export function cacheStore(name = 'quorum-engine-v1'): EngineStore {
  let opened: Promise<Cache> | undefined;
  const cache = () => {
    opened ??= caches.open(name);
    return opened;
  };
  const read = async (key: string) => {
    const hit = await (await cache()).match(key);
    return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
  };
  return {
    getBlob: (sha) => read(BLOB_KEY + sha),
    async putBlob(sha, bytes) {
      const body = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
      await (await cache()).put(BLOB_KEY + sha, new Response(body));
    },
    async deleteBlob(sha) {
      await (await cache()).delete(BLOB_KEY + sha);
    },
    async getManifest(url) {
      const bytes = await read(MANIFEST_KEY + encodeURIComponent(url));
      return bytes ? new TextDecoder().decode(bytes) : undefined;
    },
    async putManifest(url, text) {
      const body = new Blob([text], { type: 'application/json' });
      await (await cache()).put(MANIFEST_KEY + encodeURIComponent(url), new Response(body));
    },
  };
}

/** A store that keeps nothing between visits: where the Cache API is missing (insecure origins, some embeds). */
export function memoryStore(): EngineStore {
  const blobs = new Map<string, Uint8Array>();
  const manifests = new Map<string, string>();
  return {
    getBlob: async (sha) => blobs.get(sha),
    putBlob: async (sha, bytes) => void blobs.set(sha, bytes),
    deleteBlob: async (sha) => void blobs.delete(sha),
    getManifest: async (url) => manifests.get(url),
    putManifest: async (url, text) => void manifests.set(url, text),
  };
}

/** The Cache API store when this realm has one that works, else memory. */
export async function defaultStore(): Promise<EngineStore> {
  if (typeof caches === 'undefined') return memoryStore();
  try {
    await caches.open('quorum-engine-v1');
    return cacheStore();
  } catch {
    // Opaque origins and some privacy modes throw SecurityError.
    return memoryStore();
  }
}
