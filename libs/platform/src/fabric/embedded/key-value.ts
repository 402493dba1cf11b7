import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { KeyValueBucket, KeyValueStore, KvChange, KvEntry } from '../../ports';
import { SnapshotFile } from '../fs/snapshot-file';
import { assertBucketName, assertKvKey, assertPattern, subjectMatches } from '../names';

/** A key's latest state; `value: null` is a delete marker, kept so CAS revisions stay meaningful. */
interface Slot {
  revision: number;
  value: Uint8Array | null;
}

interface BucketFile {
  format: 'patchwork-kv';
  version: 1;
  bucket: string;
  revision: number;
  entries: Array<[key: string, revision: number, base64: string | null]>;
}

interface Watcher {
  pattern: string;
  push(change: KvChange): void;
  end(): void;
}

/**
 * One bucket held in memory and persisted as one JSON file (rewritten atomically). Revisions are
 * per bucket and strictly increasing, like the sequence of the stream behind a NATS KV bucket.
 */
export class EmbeddedKvBucket implements KeyValueBucket {
  private revision = 0;
  private closed = false;
  private readonly slots = new Map<string, Slot>();
  private readonly watchers = new Set<Watcher>();
  private readonly file: SnapshotFile;

  private constructor(
    readonly name: string,
    filePath: string,
  ) {
    this.file = new SnapshotFile(filePath, () => this.serialize());
  }

  static async open(dir: string, name: string): Promise<EmbeddedKvBucket> {
    const bucket = new EmbeddedKvBucket(name, path.join(dir, `${name}.json`));
    const bytes = await SnapshotFile.read(bucket.file.path);
    if (bytes) bucket.load(bytes);
    return bucket;
  }

  async get(key: string): Promise<KvEntry | null> {
    this.assertOpen();
    assertKvKey(key);
    const slot = this.slots.get(key);
    return slot?.value ? { key, value: slot.value.slice(), revision: slot.revision } : null;
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    this.assertOpen();
    assertKvKey(key);
    if (this.slots.get(key)?.value) {
      throw new PatchworkError('ALREADY_EXISTS', `key ${JSON.stringify(key)} already exists in bucket ${JSON.stringify(this.name)}`);
    }
    return this.write(key, value);
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    this.assertOpen();
    assertKvKey(key);
    if (!Number.isInteger(revision) || revision < 1) throw invalidArgument('revision', `must be a positive integer, got ${revision}`);
    const current = this.slots.get(key)?.revision ?? 0;
    if (current !== revision) {
      throw new PatchworkError(
        'ABORTED',
        `key ${JSON.stringify(key)} in bucket ${JSON.stringify(this.name)} is at revision ${current}, not ${revision}`,
      );
    }
    return this.write(key, value);
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    this.assertOpen();
    assertKvKey(key);
    return this.write(key, value);
  }

  async delete(key: string): Promise<void> {
    this.assertOpen();
    assertKvKey(key);
    if (!this.slots.get(key)?.value) return;
    await this.write(key, null);
  }

  async keys(prefix = ''): Promise<string[]> {
    this.assertOpen();
    return [...this.slots].filter(([k, s]) => s.value && k.startsWith(prefix)).map(([k]) => k).sort();
  }

  async *watch(pattern: string, signal: AbortSignal): AsyncGenerator<KvChange> {
    this.assertOpen();
    assertPattern(pattern);
    if (signal.aborted) return;
    const buffer: KvChange[] = [...this.slots]
      .filter(([k, s]) => s.value && subjectMatches(pattern, k))
      .map(([key, s]) => ({ key, value: (s.value as Uint8Array).slice(), revision: s.revision }))
      .sort((a, b) => a.revision - b.revision);
    let wake: (() => void) | null = null;
    let ended = false;
    const watcher: Watcher = {
      pattern,
      push: (change) => {
        buffer.push(change);
        wake?.();
      },
      end: () => {
        ended = true;
        wake?.();
      },
    };
    this.watchers.add(watcher);
    const onAbort = () => watcher.end();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted || ended) return;
        const next = buffer.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      this.watchers.delete(watcher);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Ends watches and waits for the last snapshot to reach the disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers) w.end();
    await this.file.commit();
  }

  private async write(key: string, value: Uint8Array | null): Promise<number> {
    const revision = ++this.revision;
    const stored = value === null ? null : Uint8Array.from(value);
    this.slots.set(key, { revision, value: stored });
    for (const w of this.watchers) {
      if (subjectMatches(w.pattern, key)) w.push({ key, value: stored === null ? null : stored.slice(), revision });
    }
    await this.file.commit();
    return revision;
  }

  private serialize(): Uint8Array {
    const doc: BucketFile = {
      format: 'patchwork-kv',
      version: 1,
      bucket: this.name,
      revision: this.revision,
      entries: [...this.slots].map(([k, s]) => [k, s.revision, s.value ? Buffer.from(s.value).toString('base64') : null]),
    };
    return Buffer.from(JSON.stringify(doc));
  }

  private load(bytes: Buffer): void {
    let doc: BucketFile;
    try {
      doc = JSON.parse(bytes.toString('utf8')) as BucketFile;
    } catch (err) {
      throw new PatchworkError('DATA_LOSS', `KV bucket file ${this.file.path} is not valid JSON`, { cause: err });
    }
    if (doc?.format !== 'patchwork-kv' || doc.version !== 1 || !Array.isArray(doc.entries) || !Number.isInteger(doc.revision)) {
      throw new PatchworkError('DATA_LOSS', `KV bucket file ${this.file.path} is not a patchwork-kv v1 snapshot`);
    }
    this.revision = doc.revision;
    for (const [key, revision, base64] of doc.entries) {
      this.slots.set(key, { revision, value: base64 === null ? null : new Uint8Array(Buffer.from(base64, 'base64')) });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new PatchworkError('FAILED_PRECONDITION', `KV bucket ${JSON.stringify(this.name)} is closed`);
  }
}

export class EmbeddedKeyValueStore implements KeyValueStore {
  private readonly buckets = new Map<string, Promise<EmbeddedKvBucket>>();
  private closed = false;

  constructor(private readonly dir: string) {}

  async bucket(name: string): Promise<KeyValueBucket> {
    if (this.closed) throw new PatchworkError('FAILED_PRECONDITION', 'the KV store is closed');
    assertBucketName(name);
    let bucket = this.buckets.get(name);
    if (!bucket) {
      bucket = fs.mkdir(this.dir, { recursive: true }).then(() => EmbeddedKvBucket.open(this.dir, name));
      this.buckets.set(name, bucket);
      bucket.catch(() => this.buckets.delete(name));
    }
    return bucket;
  }

  async close(): Promise<void> {
    this.closed = true;
    const opened = await Promise.allSettled(this.buckets.values());
    await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
  }
}
