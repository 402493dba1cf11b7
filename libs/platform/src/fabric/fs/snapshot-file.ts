import { promises as fs } from 'node:fs';
import { PatchworkError } from '@patchwork/errors';
import { writeFileAtomically } from './atomic-write';

interface Waiters {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function waiters(): Waiters {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A commit nobody awaits (a delivery count bump) must not become an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * One file holding the whole state of an in-memory structure, rewritten atomically. Commits made
 * while a write is running are coalesced into the next write, so a burst of N mutations costs two
 * writes, and each commit resolves once a snapshot taken after it is on disk.
 */
export class SnapshotFile {
  private writing = false;
  private next: Waiters | null = null;

  constructor(
    readonly path: string,
    private readonly serialize: () => Uint8Array,
  ) {}

  /** The bytes of the last snapshot, or null when there is none yet. */
  static async read(path: string): Promise<Buffer | null> {
    try {
      return await fs.readFile(path);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return null;
      throw PatchworkError.from(err);
    }
  }

  commit(): Promise<void> {
    if (!this.next) this.next = waiters();
    const pending = this.next;
    if (!this.writing) void this.drain();
    return pending.promise;
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.next) {
      const current = this.next;
      this.next = null;
      try {
        await writeFileAtomically(this.path, [this.serialize()]);
        current.resolve();
      } catch (err) {
        current.reject(err);
      }
    }
    this.writing = false;
  }
}
