import { PatchworkError, ViolationCollector, invalidArgument } from '@patchwork/errors';

export interface AdapterCacheOptions<A> {
  /** Most bytes of loaded adapters kept at once. */
  readonly budgetBytes: number;
  /** Loads adapter `id` (from disk, a store, ...). Its errors reach the caller unchanged. */
  readonly load: (id: string) => Promise<A>;
  /** Bytes an adapter holds. */
  readonly sizeOf: (adapter: A) => number;
  /** Frees an evicted adapter; default `adapter.dispose()`. */
  readonly dispose?: (adapter: A) => void;
}

/** A loaded adapter pinned in the cache until `release()` (idempotent). */
export interface AdapterLease<A> {
  readonly id: string;
  readonly adapter: A;
  release(): void;
}

export interface AdapterCacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly budgetBytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
}

interface Entry<A> {
  readonly id: string;
  readonly adapter: A;
  readonly bytes: number;
  pins: number;
}

interface Loading<A> {
  promise: Promise<Entry<A>>;
  /** Acquirers waiting for this load; the entry starts with this many pins. */
  waiters: number;
}

function defaultDispose(adapter: unknown): void {
  const d = (adapter as { dispose?: unknown } | null)?.dispose;
  if (typeof d === 'function') d.call(adapter);
}

/**
 * A least-recently-used cache of loaded adapters under a memory budget in bytes. An adapter is
 * pinned while a lease on it is held and is never evicted then; unpinned ones are evicted oldest
 * use first to make room. Concurrent requests for the same adapter share one load. An adapter
 * that cannot fit (larger than the budget, or the rest of the budget is pinned) is disposed again
 * and refused with RESOURCE_EXHAUSTED.
 */
export class AdapterCache<A> {
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry<A>>();
  private readonly loading = new Map<string, Loading<A>>();
  private total = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private readonly free: (adapter: A) => void;

  constructor(private readonly options: AdapterCacheOptions<A>) {
    const problems = new ViolationCollector();
    if (!(Number.isFinite(options?.budgetBytes) && options.budgetBytes > 0)) problems.add('budgetBytes', `must be a positive number, got ${options?.budgetBytes}`);
    if (typeof options?.load !== 'function') problems.add('load', 'must be a function');
    if (typeof options?.sizeOf !== 'function') problems.add('sizeOf', 'must be a function');
    problems.throwIfAny();
    this.free = options.dispose ?? defaultDispose;
  }

  get budgetBytes(): number {
    return this.options.budgetBytes;
  }

  stats(): AdapterCacheStats {
    return { entries: this.entries.size, bytes: this.total, budgetBytes: this.options.budgetBytes, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }

  /** Loaded adapter ids, least recently used first. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Returns adapter `id`, loading it if needed, pinned until the lease is released. */
  async acquire(id: string): Promise<AdapterLease<A>> {
    if (typeof id !== 'string' || id === '') throw invalidArgument('adapterId', 'must be a non-empty string');
    const hit = this.entries.get(id);
    if (hit !== undefined) {
      this.hits++;
      hit.pins++;
      this.touch(hit);
      return this.lease(hit);
    }
    let loading = this.loading.get(id);
    if (loading === undefined) {
      this.misses++;
      const record: Loading<A> = { waiters: 0, promise: Promise.resolve(undefined as unknown as Entry<A>) };
      // Registered before the load starts: a loader that throws synchronously must still find it to remove.
      this.loading.set(id, record);
      record.promise = this.loadAndAdmit(id, record);
      loading = record;
    } else {
      this.hits++;
    }
    loading.waiters++;
    return this.lease(await loading.promise);
  }

  /** Runs `fn` with adapter `id` pinned. */
  async use<T>(id: string, fn: (adapter: A) => T | Promise<T>): Promise<T> {
    const lease = await this.acquire(id);
    try {
      return await fn(lease.adapter);
    } finally {
      lease.release();
    }
  }

  /** Evicts `id` now. False if it is not loaded; FAILED_PRECONDITION while it is pinned. */
  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    if (entry.pins > 0) throw new PatchworkError('FAILED_PRECONDITION', `adapter ${id} is in use by ${entry.pins} request(s)`);
    this.evict(entry);
    return true;
  }

  /** Evicts every unpinned adapter; returns how many stay (pinned). */
  clear(): number {
    for (const entry of [...this.entries.values()]) if (entry.pins === 0) this.evict(entry);
    return this.entries.size;
  }

  private async loadAndAdmit(id: string, record: Loading<A>): Promise<Entry<A>> {
    let adapter: A;
    try {
      adapter = await this.options.load(id);
    } catch (e) {
      this.loading.delete(id);
      throw e;
    }
    // From here to the return nothing awaits, so no other admission interleaves.
    this.loading.delete(id);
    let bytes: number;
    try {
      bytes = this.options.sizeOf(adapter);
      if (!(Number.isFinite(bytes) && bytes >= 0)) throw new PatchworkError('INTERNAL', `sizeOf(${id}) returned ${bytes}, not a byte count`);
    } catch (e) {
      this.free(adapter);
      throw e;
    }
    const budget = this.options.budgetBytes;
    if (bytes > budget) {
      this.free(adapter);
      throw new PatchworkError('RESOURCE_EXHAUSTED', `adapter ${id} needs ${bytes} bytes, more than the cache's whole budget of ${budget}`, { retryable: false });
    }
    for (const entry of [...this.entries.values()]) {
      if (this.total + bytes <= budget) break;
      if (entry.pins === 0) this.evict(entry);
    }
    if (this.total + bytes > budget) {
      this.free(adapter);
      throw new PatchworkError('RESOURCE_EXHAUSTED', `adapter ${id} (${bytes} bytes) does not fit: ${this.total} of ${budget} bytes are held by adapters in use`, { retryable: true });
    }
    const entry: Entry<A> = { id, adapter, bytes, pins: record.waiters };
    this.entries.set(id, entry);
    this.total += bytes;
    return entry;
  }

  private touch(entry: Entry<A>): void {
    this.entries.delete(entry.id);
    this.entries.set(entry.id, entry);
  }

  private evict(entry: Entry<A>): void {
    this.entries.delete(entry.id);
    this.total -= entry.bytes;
    this.evictions++;
    this.free(entry.adapter);
  }

  private lease(entry: Entry<A>): AdapterLease<A> {
    let released = false;
    return {
      id: entry.id,
      adapter: entry.adapter,
      release: () => {
        if (released) return;
        released = true;
        entry.pins--;
      },
    };
  }
}
