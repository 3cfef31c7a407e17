import { ENSEMBLE_PREFIX, ensembleKey, LATEST_PREFIX, latestKey, versionKey, versionPrefix } from './keys';

/** What the registry knows about one published version; stored as the KV value and as list metadata. */
export interface VersionRecord {
  version: string;
  /** The manifest's own `created` (export time). */
  created: string;
  /** When the edge accepted the manifest. */
  published: string;
  /** Total bytes of the files the manifest names (what a browser downloads). */
  size: number;
  /** Bytes and sha256 of the manifest document as published. */
  manifestSize: number;
  sha256: string;
}

export interface EnsembleSummary {
  name: string;
  latest: string | null;
}

/**
 * The registry in KV. Each fact lives under its own key with a single kind of writer, so there is no
 * read-modify-write of a shared document that two publishers could interleave (KV has no compare-and-set):
 * a version record is written once by its publish, `latest` only by promote/rollback. Listing reads the records
 * from KV list metadata, one call per 1,000 keys, rather than one get per key.
 */
export class Registry {
  constructor(private readonly kv: KVNamespace) {}

  async listEnsembles(): Promise<EnsembleSummary[]> {
    const [names, latest] = await Promise.all([
      this.listKeys<unknown>(ENSEMBLE_PREFIX),
      this.listKeys<{ version?: string }>(LATEST_PREFIX),
    ]);
    const latestByName = new Map<string, string>();
    for (const k of latest) {
      if (k.metadata?.version) latestByName.set(k.name.slice(LATEST_PREFIX.length), k.metadata.version);
    }
    const all = new Set([...names.map((k) => k.name.slice(ENSEMBLE_PREFIX.length)), ...latestByName.keys()]);
    return [...all].sort().map((name) => ({ name, latest: latestByName.get(name) ?? null }));
  }

  async listVersions(name: string): Promise<VersionRecord[]> {
    const keys = await this.listKeys<VersionRecord>(versionPrefix(name));
    const records = keys.flatMap((k) => (k.metadata ? [k.metadata] : []));
    return records.sort(
      (a, b) => a.published.localeCompare(b.published) || a.version.localeCompare(b.version),
    );
  }

  async exists(name: string): Promise<boolean> {
    return (await this.kv.get(ensembleKey(name))) !== null;
  }

  getVersion(name: string, version: string): Promise<VersionRecord | null> {
    return this.kv.get<VersionRecord>(versionKey(name, version), 'json');
  }

  async putVersion(name: string, record: VersionRecord): Promise<void> {
    await this.kv.put(versionKey(name, record.version), JSON.stringify(record), { metadata: record });
    await this.kv.put(ensembleKey(name), '1');
  }

  /** Removes a version from the registry; the ensemble itself disappears with its last version. */
  async deleteVersion(name: string, version: string): Promise<void> {
    await this.kv.delete(versionKey(name, version));
    const rest = await this.kv.list({ prefix: versionPrefix(name), limit: 1 });
    if (rest.keys.length === 0 && (await this.getLatest(name)) === null)
      await this.kv.delete(ensembleKey(name));
  }

  getLatest(name: string): Promise<string | null> {
    return this.kv.get(latestKey(name));
  }

  async setLatest(name: string, version: string): Promise<void> {
    await this.kv.put(latestKey(name), version, { metadata: { version } });
  }

  private async listKeys<M>(prefix: string): Promise<KVNamespaceListKey<M>[]> {
    const out: KVNamespaceListKey<M>[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page: KVNamespaceListResult<M> = await this.kv.list<M>({ prefix, ...(cursor ? { cursor } : {}) });
      out.push(...page.keys);
      if (page.list_complete) return out;
      cursor = page.cursor;
    }
  }
}
