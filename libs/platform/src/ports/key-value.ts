/**
 * A key-value bucket with revisions, for job records, idempotency keys and artifact lineage.
 * Production: NATS KV. Embedded: in memory, persisted to a file per bucket on the local disk.
 * Keys use NATS KV rules: [-/_=.a-zA-Z0-9]+, no leading/trailing dot.
 */
export interface KvEntry {
  key: string;
  value: Uint8Array;
  revision: number;
}

export interface KvChange {
  key: string;
  /** null when the key was deleted. */
  value: Uint8Array | null;
  revision: number;
}

export interface KeyValueBucket {
  get(key: string): Promise<KvEntry | null>;
  /** Creates the key; throws PatchworkError ALREADY_EXISTS if it exists. Returns the revision. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Compare-and-set; throws PatchworkError ABORTED when `revision` is not the current one. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  put(key: string, value: Uint8Array): Promise<number>;
  delete(key: string): Promise<void>;
  /** Keys starting with `prefix` (all keys when omitted). */
  keys(prefix?: string): Promise<string[]>;
  /**
   * Current value first (if any), then every later change of keys matching `pattern` (a key or a
   * NATS wildcard pattern such as `jobs.>`) until the signal aborts.
   */
  watch(pattern: string, signal: AbortSignal): AsyncIterable<KvChange>;
}

export interface KeyValueStore {
  bucket(name: string): Promise<KeyValueBucket>;
  close(): Promise<void>;
}
