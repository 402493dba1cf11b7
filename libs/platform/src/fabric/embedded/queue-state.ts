import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import type { DeadLetter } from '../../ports';
import { SnapshotFile } from '../fs/snapshot-file';

export interface QueuedMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers: Record<string, string>;
  deliveries: number;
  /** Not deliverable before this time (ms since epoch): a nak with a delay. */
  availableAt: number;
  /** The current delivery, while a handler holds the message. */
  lease: { token: number; timer: NodeJS.Timeout } | null;
}

interface QueueFile {
  format: 'patchwork-queue';
  version: 1;
  queue: string;
  nextSeq: number;
  messages: Array<{ seq: number; data: string; headers: Record<string, string>; deliveries: number; availableAt: number }>;
  deadLetters: Array<{ data: string; headers: Record<string, string>; reason: string; deliveryCount: number; at: number }>;
  dedup: Array<[msgId: string, expiresAt: number]>;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

/**
 * Everything one embedded queue remembers, persisted as one file so queued jobs, dead letters and
 * the dedup window survive a restart. Leases are not persisted: after a restart every message is
 * deliverable again, with its delivery count intact.
 */
export class QueueState {
  nextSeq = 1;
  /** Insertion order is sequence order: a message is never re-inserted. */
  readonly messages = new Map<number, QueuedMessage>();
  readonly deadLetters: DeadLetter[] = [];
  /** msgId -> end of its dedup window (ms since epoch). */
  readonly dedup = new Map<string, number>();
  wakeTimer: NodeJS.Timeout | null = null;
  readonly file: SnapshotFile;

  private constructor(
    readonly name: string,
    dir: string,
  ) {
    this.file = new SnapshotFile(path.join(dir, `${name}.json`), () => this.serialize());
  }

  static async open(dir: string, name: string): Promise<QueueState> {
    const state = new QueueState(name, dir);
    const bytes = await SnapshotFile.read(state.file.path);
    if (bytes) state.load(bytes);
    return state;
  }

  pruneDedup(now: number): void {
    for (const [id, expiresAt] of this.dedup) if (expiresAt <= now) this.dedup.delete(id);
  }

  /** Moves a message to the dead letters (its lease, if any, is released by the caller). */
  bury(message: QueuedMessage, reason: string): void {
    this.messages.delete(message.seq);
    this.deadLetters.push({
      queue: this.name,
      data: message.data,
      headers: message.headers,
      reason,
      deliveryCount: message.deliveries,
      at: Date.now(),
    });
  }

  private serialize(): Uint8Array {
    const doc: QueueFile = {
      format: 'patchwork-queue',
      version: 1,
      queue: this.name,
      nextSeq: this.nextSeq,
      messages: [...this.messages.values()].map((m) => ({
        seq: m.seq,
        data: b64(m.data),
        headers: m.headers,
        deliveries: m.deliveries,
        availableAt: m.availableAt,
      })),
      deadLetters: this.deadLetters.map((d) => ({
        data: b64(d.data),
        headers: d.headers,
        reason: d.reason,
        deliveryCount: d.deliveryCount,
        at: d.at,
      })),
      dedup: [...this.dedup],
    };
    return Buffer.from(JSON.stringify(doc));
  }

  private load(bytes: Buffer): void {
    let doc: QueueFile;
    try {
      doc = JSON.parse(bytes.toString('utf8')) as QueueFile;
    } catch (err) {
      throw new PatchworkError('DATA_LOSS', `queue file ${this.file.path} is not valid JSON`, { cause: err });
    }
    if (doc?.format !== 'patchwork-queue' || doc.version !== 1 || !Array.isArray(doc.messages) || !Array.isArray(doc.deadLetters)) {
      throw new PatchworkError('DATA_LOSS', `queue file ${this.file.path} is not a patchwork-queue v1 snapshot`);
    }
    this.nextSeq = doc.nextSeq;
    for (const m of doc.messages) {
      this.messages.set(m.seq, { seq: m.seq, data: unb64(m.data), headers: m.headers, deliveries: m.deliveries, availableAt: m.availableAt, lease: null });
    }
    for (const d of doc.deadLetters) {
      this.deadLetters.push({ queue: this.name, data: unb64(d.data), headers: d.headers, reason: d.reason, deliveryCount: d.deliveryCount, at: d.at });
    }
    for (const [id, expiresAt] of doc.dedup ?? []) this.dedup.set(id, expiresAt);
  }
}
