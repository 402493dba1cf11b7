import { createReadStream } from 'node:fs';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { PatchworkError } from '@patchwork/errors';
import type { BlobInfo, BlobStore } from '../../ports';
import { writeFileAtomically } from '../fs/atomic-write';
import { hashFile, sha256Hex, verifyDigest } from '../fs/digest';
import { assertDigest } from '../names';
import { fromNats } from './errors';

/** Chunk size of stored objects: fewer, larger messages than the client's 128 KiB default. */
export const BLOB_CHUNK_BYTES = 1024 * 1024;

/** The object store's own digest (`SHA-256=<base64url>`) as lowercase hex, or null if unparsable. */
export function objectDigestHex(info: Pick<ObjectInfo, 'digest'>): string | null {
  const match = /^SHA-256=(.+)$/i.exec(info.digest ?? '');
  if (!match) return null;
  const bytes = Buffer.from(match[1], 'base64url');
  return bytes.length === 32 ? bytes.toString('hex') : null;
}

function toReadableStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/**
 * Blobs in the NATS Object Store, named by the sha256 (hex) of their bytes. The store keeps its
 * own digest too; a stored object is trusted as "present" only when that digest and the size
 * match its name, so a damaged or mislabelled object is replaced by the next put.
 */
export class NatsBlobStore implements BlobStore {
  private closed = false;

  constructor(private readonly store: ObjectStore) {}

  async putFile(path: string): Promise<BlobInfo> {
    this.assertOpen();
    const info = await hashFile(path);
    if (await this.holds(info)) return info;
    const source = async function* () {
      for await (const chunk of createReadStream(path, { highWaterMark: BLOB_CHUNK_BYTES })) yield chunk as Buffer;
    };
    await this.upload(info, toReadableStream(source()));
    return info;
  }

  async putBytes(bytes: Uint8Array): Promise<BlobInfo> {
    this.assertOpen();
    const info = { digest: sha256Hex(bytes), size: bytes.length };
    if (await this.holds(info)) return info;
    const source = async function* () {
      for (let i = 0; i < bytes.length; i += BLOB_CHUNK_BYTES) yield bytes.subarray(i, i + BLOB_CHUNK_BYTES);
    };
    await this.upload(info, toReadableStream(source()));
    return info;
  }

  async *read(digest: string): AsyncGenerator<Uint8Array> {
    this.assertOpen();
    assertDigest(digest);
    let result;
    try {
      result = await this.store.get(digest);
    } catch (err) {
      throw fromNats(err, `reading blob ${digest}`);
    }
    if (!result) throw new PatchworkError('NOT_FOUND', `blob ${digest} does not exist`);
    const data = result.data;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of data) yield chunk;
      } catch (err) {
        // The client checks the object's own digest too; its failure is the same data loss.
        if (err instanceof Error && /digest/i.test(err.message)) {
          throw new PatchworkError('DATA_LOSS', `blob ${digest} is corrupt: ${err.message}`, { cause: err });
        }
        throw fromNats(err, `reading blob ${digest}`);
      }
    }
    yield* verifyDigest(digest, chunks());
  }

  async getToFile(digest: string, path: string): Promise<BlobInfo> {
    this.assertOpen();
    assertDigest(digest);
    const size = await writeFileAtomically(path, this.read(digest));
    return { digest, size };
  }

  async stat(digest: string): Promise<BlobInfo | null> {
    this.assertOpen();
    assertDigest(digest);
    const info = await this.info(digest);
    return info ? { digest, size: info.size } : null;
  }

  async delete(digest: string): Promise<void> {
    this.assertOpen();
    assertDigest(digest);
    if (!(await this.info(digest))) return;
    try {
      await this.store.delete(digest);
    } catch (err) {
      throw fromNats(err, `deleting blob ${digest}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new PatchworkError('FAILED_PRECONDITION', 'the blob store is closed');
  }

  private async info(digest: string): Promise<ObjectInfo | null> {
    try {
      const info = await this.store.info(digest);
      return info && !info.deleted ? info : null;
    } catch (err) {
      throw fromNats(err, `reading blob ${digest} metadata`);
    }
  }

  private async holds(expected: BlobInfo): Promise<boolean> {
    const info = await this.info(expected.digest);
    return info !== null && info.size === expected.size && objectDigestHex(info) === expected.digest;
  }

  private async upload(expected: BlobInfo, data: ReadableStream<Uint8Array>): Promise<void> {
    let stored: ObjectInfo;
    try {
      stored = await this.store.put({ name: expected.digest, options: { max_chunk_size: BLOB_CHUNK_BYTES } }, data);
    } catch (err) {
      // Node file errors (the source vanished mid-upload) carry string codes; NATS errors do not.
      const fileError = typeof (err as { code?: unknown }).code === 'string';
      throw fileError ? PatchworkError.from(err) : fromNats(err, `storing blob ${expected.digest}`);
    }
    if (stored.size !== expected.size || objectDigestHex(stored) !== expected.digest) {
      // The source changed between hashing and uploading: the object's name would lie.
      await this.store.delete(expected.digest).catch(() => undefined);
      throw new PatchworkError('ABORTED', `the content changed while blob ${expected.digest} was being stored; store it again`);
    }
  }
}
