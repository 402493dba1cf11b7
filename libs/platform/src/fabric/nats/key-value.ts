import { Kvm, type KV } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { KeyValueBucket, KeyValueStore, KvChange, KvEntry } from '../../ports';
import { assertBucketName, assertKvKey, assertPattern } from '../names';
import type { NatsContext } from './context';
import { JsCodes, fromNats, jsApiCode } from './errors';
import { kvBucketName } from './names';

const isCasFailure = (err: unknown) => {
  const code = jsApiCode(err);
  return code === JsCodes.wrongLastSequence || code === JsCodes.wrongLastSequenceUnknown;
};

class NatsKvBucket implements KeyValueBucket {
  private readonly watches = new Set<() => void>();

  constructor(
    private readonly kv: KV,
    readonly name: string,
  ) {}

  async get(key: string): Promise<KvEntry | null> {
    assertKvKey(key);
    try {
      const e = await this.kv.get(key);
      return e && e.operation === 'PUT' ? { key, value: e.value, revision: e.revision } : null;
    } catch (err) {
      throw fromNats(err, `reading ${key} from bucket ${this.name}`);
    }
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    assertKvKey(key);
    try {
      return await this.kv.create(key, value);
    } catch (err) {
      if (isCasFailure(err)) {
        throw new PatchworkError('ALREADY_EXISTS', `key ${JSON.stringify(key)} already exists in bucket ${JSON.stringify(this.name)}`, { cause: err });
      }
      throw fromNats(err, `creating ${key} in bucket ${this.name}`);
    }
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    assertKvKey(key);
    if (!Number.isInteger(revision) || revision < 1) throw invalidArgument('revision', `must be a positive integer, got ${revision}`);
    try {
      return await this.kv.update(key, value, revision);
    } catch (err) {
      if (isCasFailure(err)) {
        throw new PatchworkError(
          'ABORTED',
          `key ${JSON.stringify(key)} in bucket ${JSON.stringify(this.name)} is not at revision ${revision} (${(err as Error).message})`,
          { cause: err },
        );
      }
      throw fromNats(err, `updating ${key} in bucket ${this.name}`);
    }
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    assertKvKey(key);
    try {
      return await this.kv.put(key, value);
    } catch (err) {
      throw fromNats(err, `writing ${key} to bucket ${this.name}`);
    }
  }

  async delete(key: string): Promise<void> {
    assertKvKey(key);
    try {
      await this.kv.delete(key);
    } catch (err) {
      throw fromNats(err, `deleting ${key} from bucket ${this.name}`);
    }
  }

  async keys(prefix = ''): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const k of await this.kv.keys()) if (k.startsWith(prefix)) out.push(k);
    } catch (err) {
      throw fromNats(err, `listing keys of bucket ${this.name}`);
    }
    return out.sort();
  }

  async *watch(pattern: string, signal: AbortSignal): AsyncGenerator<KvChange> {
    assertPattern(pattern);
    if (signal.aborted) return;
    let iterator: Awaited<ReturnType<KV['watch']>>;
    let baseline: number;
    try {
      // Values written up to `baseline` are the current state: their delete markers are skipped,
      // as a deleted key has no current value. Later markers are changes and are reported.
      baseline = (await this.kv.status()).streamInfo.state.last_seq;
      iterator = await this.kv.watch({ key: pattern });
    } catch (err) {
      throw fromNats(err, `watching ${pattern} in bucket ${this.name}`);
    }
    const stop = () => iterator.stop();
    this.watches.add(stop);
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const e of iterator) {
        if (signal.aborted) return;
        const deleted = e.operation !== 'PUT';
        if (deleted && e.revision <= baseline) continue;
        yield { key: e.key, value: deleted ? null : e.value, revision: e.revision };
      }
    } finally {
      signal.removeEventListener('abort', stop);
      this.watches.delete(stop);
      iterator.stop();
    }
  }

  close(): void {
    for (const stop of this.watches) stop();
    this.watches.clear();
  }
}

/** NATS KV buckets `<prefix><name>` (history 5, file storage), opened or created on first use. */
export class NatsKeyValueStore implements KeyValueStore {
  private readonly buckets = new Map<string, Promise<NatsKvBucket>>();
  private readonly kvm: Kvm;
  private closed = false;

  constructor(private readonly ctx: NatsContext) {
    this.kvm = new Kvm(ctx.js);
  }

  async bucket(name: string): Promise<KeyValueBucket> {
    if (this.closed) throw new PatchworkError('FAILED_PRECONDITION', 'the KV store is closed');
    assertBucketName(name);
    let bucket = this.buckets.get(name);
    if (!bucket) {
      bucket = this.kvm
        .create(kvBucketName(this.ctx.prefix, name), { history: 5, storage: StorageType.File, replicas: this.ctx.replicas })
        .then((kv) => new NatsKvBucket(kv, name))
        .catch((err) => {
          throw fromNats(err, `opening KV bucket ${name}`);
        });
      this.buckets.set(name, bucket);
      bucket.catch(() => this.buckets.delete(name));
    }
    return bucket;
  }

  async close(): Promise<void> {
    this.closed = true;
    const opened = await Promise.allSettled(this.buckets.values());
    for (const r of opened) if (r.status === 'fulfilled') r.value.close();
  }
}
