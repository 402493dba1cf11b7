import { ViolationCollector, invalidArgument } from '@patchwork/errors';

export interface ResourceCacheOptions<V> {
  /** Most entries kept; entries in use may exceed it until they are released. */
  readonly maxEntries: number;
  /** Entries unused this long are evicted by a background sweep (its timer never keeps the process alive). Default: never. */
  readonly idleMs?: number;
  /** Frees an evicted value (default `value.dispose()` when it has one). Its errors are swallowed: eviction must not fail a caller. */
  readonly dispose?: (value: V, key: string) => void;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** A value pinned in the cache until `release()` (idempotent). */
export interface ResourceLease<V> {
  readonly key: string;
  readonly value: V;
  /** True when the value was already loaded or being loaded for another caller. */
  readonly hit: boolean;
  release(): void;
}

export interface ResourceCacheStats {
  readonly entries: number;
  readonly pinned: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
}

interface Entry<V> {
  readonly key: string;
  readonly value: V;
  pins: number;
  lastUsed: number;
  /** Evicted or cleared while pinned: disposed when the last lease is released. */
  retired: boolean;
}

interface Loading<V> {
  promise: Promise<Entry<V>>;
  /** Callers waiting for this load; the entry starts with this many pins. */
  waiters: number;
}

function defaultDispose(value: unknown): void {
  const d = (value as { dispose?: unknown } | null)?.dispose;
  if (typeof d === 'function') d.call(value);
}

/**
 * A least-recently-used cache of loaded resources (models, prepared documents) shared by the
 * shards a replica evaluates, so a job of many shards loads its model once per process instead of
 * once per shard. A value is pinned while a lease on it is held and is never disposed then;
 * concurrent requests for one key share a single load; a failed load is not cached.
 */
export class ResourceCache<V> {
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Loading<V>>();
  private readonly free: (value: V, key: string) => void;
  private readonly now: () => number;
  private sweep?: ReturnType<typeof setTimeout>;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(private readonly options: ResourceCacheOptions<V>) {
    const problems = new ViolationCollector();
    if (!Number.isInteger(options?.maxEntries) || options.maxEntries < 1) problems.add('maxEntries', `must be a positive integer, got ${options?.maxEntries}`);
    if (options?.idleMs !== undefined && !(Number.isFinite(options.idleMs) && options.idleMs > 0)) problems.add('idleMs', `must be a positive number of milliseconds, got ${options.idleMs}`);
    problems.throwIfAny();
    this.free = options.dispose ?? defaultDispose;
    this.now = options.now ?? Date.now;
  }

  stats(): ResourceCacheStats {
    let pinned = 0;
    for (const e of this.entries.values()) if (e.pins > 0) pinned++;
    return { entries: this.entries.size, pinned, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }

  /** Cached keys, least recently used first. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** The value under `key`, loaded with `load` if needed, pinned until the lease is released. */
  async acquire(key: string, load: () => Promise<V>): Promise<ResourceLease<V>> {
    if (typeof key !== 'string' || key === '') throw invalidArgument('key', 'must be a non-empty string');
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      this.hits++;
      cached.pins++;
      this.touch(cached);
      return this.lease(cached, true);
    }
    let pending = this.loading.get(key);
    const hit = pending !== undefined;
    if (pending === undefined) {
      this.misses++;
      const record: Loading<V> = { waiters: 0, promise: Promise.resolve(undefined as unknown as Entry<V>) };
      // Registered before `load` runs, so a loader that throws synchronously still finds it to remove.
      this.loading.set(key, record);
      record.promise = this.admit(key, load, record);
      pending = record;
    } else {
      this.hits++;
    }
    pending.waiters++;
    return this.lease(await pending.promise, hit);
  }

  /** Runs `fn` with the value under `key` pinned. */
  async use<T>(key: string, load: () => Promise<V>, fn: (value: V, hit: boolean) => T | Promise<T>): Promise<T> {
    const lease = await this.acquire(key, load);
    try {
      return await fn(lease.value, lease.hit);
    } finally {
      lease.release();
    }
  }

  /** Evicts entries unused for `idleMs` (or `olderThanMs`); returns how many went. */
  evictIdle(olderThanMs = this.options.idleMs): number {
    if (olderThanMs === undefined) return 0;
    const cutoff = this.now() - olderThanMs;
    let evicted = 0;
    for (const entry of [...this.entries.values()]) {
      if (entry.pins === 0 && entry.lastUsed <= cutoff) {
        this.evict(entry);
        evicted++;
      }
    }
    return evicted;
  }

  /** Evicts everything; values in use are disposed when their last lease is released. */
  clear(): void {
    if (this.sweep !== undefined) clearTimeout(this.sweep);
    this.sweep = undefined;
    for (const entry of [...this.entries.values()]) this.evict(entry);
  }

  private async admit(key: string, load: () => Promise<V>, record: Loading<V>): Promise<Entry<V>> {
    let value: V;
    try {
      value = await load();
    } finally {
      this.loading.delete(key);
    }
    // Pinned for every waiter before anything else can run, so no eviction reaches it first.
    const entry: Entry<V> = { key, value, pins: record.waiters, lastUsed: this.now(), retired: false };
    this.entries.set(key, entry);
    this.shrink();
    return entry;
  }

  private touch(entry: Entry<V>): void {
    entry.lastUsed = this.now();
    this.entries.delete(entry.key);
    this.entries.set(entry.key, entry);
  }

  /** Evicts least recently used, unpinned entries until the cache is within `maxEntries`. */
  private shrink(): void {
    for (const entry of [...this.entries.values()]) {
      if (this.entries.size <= this.options.maxEntries) return;
      if (entry.pins === 0) this.evict(entry);
    }
  }

  private evict(entry: Entry<V>): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    this.evictions++;
    if (entry.pins > 0) entry.retired = true;
    else this.dispose(entry);
  }

  private dispose(entry: Entry<V>): void {
    try {
      this.free(entry.value, entry.key);
    } catch {
      // A value that fails to free is dropped all the same; the caller's work already succeeded.
    }
  }

  private lease(entry: Entry<V>, hit: boolean): ResourceLease<V> {
    let released = false;
    return {
      key: entry.key,
      value: entry.value,
      hit,
      release: () => {
        if (released) return;
        released = true;
        entry.pins--;
        entry.lastUsed = this.now();
        if (entry.pins > 0) return;
        if (entry.retired) this.dispose(entry);
        else this.shrink();
        this.scheduleSweep();
      },
    };
  }

  private scheduleSweep(): void {
    const idleMs = this.options.idleMs;
    if (idleMs === undefined || this.sweep !== undefined || this.entries.size === 0) return;
    this.sweep = setTimeout(() => {
      this.sweep = undefined;
      this.evictIdle();
      this.scheduleSweep();
    }, idleMs);
    this.sweep.unref?.();
  }
}
