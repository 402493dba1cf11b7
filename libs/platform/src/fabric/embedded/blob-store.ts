import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import type { BlobInfo, BlobStore } from '../../ports';
import { syncDirectory, writeFileAtomically } from '../fs/atomic-write';
import { verifyDigest } from '../fs/digest';
import { assertDigest } from '../names';

const CHUNK = 1024 * 1024;

/**
 * Content-addressed blobs on the local disk: `<root>/<first two hex>/<sha256>`. A blob is written
 * to a temp file under `<root>/.tmp` (same file system), hashed while it streams, fsynced, then
 * renamed into place, so a blob file either is complete or does not exist.
 */
export class EmbeddedBlobStore implements BlobStore {
  private closed = false;

  constructor(private readonly root: string) {}

  async putFile(source: string): Promise<BlobInfo> {
    this.assertOpen();
    return this.ingest(async function* () {
      for await (const chunk of createReadStream(source, { highWaterMark: CHUNK })) yield chunk as Buffer;
    });
  }

  async putBytes(bytes: Uint8Array): Promise<BlobInfo> {
    this.assertOpen();
    return this.ingest(async function* () {
      for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, i + CHUNK);
    });
  }

  async *read(digest: string): AsyncGenerator<Uint8Array> {
    this.assertOpen();
    assertDigest(digest);
    const file = this.pathOf(digest);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) yield new Uint8Array(chunk as Buffer);
      } catch (err) {
        if ((err as { code?: unknown }).code === 'ENOENT') throw new PatchworkError('NOT_FOUND', `blob ${digest} does not exist`);
        throw PatchworkError.from(err);
      }
    }
    yield* verifyDigest(digest, chunks());
  }

  async getToFile(digest: string, target: string): Promise<BlobInfo> {
    this.assertOpen();
    assertDigest(digest);
    const size = await writeFileAtomically(target, this.read(digest));
    return { digest, size };
  }

  async stat(digest: string): Promise<BlobInfo | null> {
    this.assertOpen();
    assertDigest(digest);
    try {
      const st = await fs.stat(this.pathOf(digest));
      return { digest, size: st.size };
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return null;
      throw PatchworkError.from(err);
    }
  }

  async delete(digest: string): Promise<void> {
    this.assertOpen();
    assertDigest(digest);
    await fs.rm(this.pathOf(digest), { force: true });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private pathOf(digest: string): string {
    return path.join(this.root, digest.slice(0, 2), digest);
  }

  private async ingest(source: () => AsyncIterable<Uint8Array>): Promise<BlobInfo> {
    const tmpDir = path.join(this.root, '.tmp');
    await fs.mkdir(tmpDir, { recursive: true });
    const temp = path.join(tmpDir, `${process.pid}.${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    try {
      const handle = await fs.open(temp, 'wx', 0o444);
      try {
        for await (const chunk of source()) {
          hash.update(chunk);
          size += chunk.length;
          let offset = 0;
          while (offset < chunk.length) offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const digest = hash.digest('hex');
      const target = this.pathOf(digest);
      // Renaming over an existing copy costs nothing more (the bytes are written already) and
      // repairs a copy that was damaged on disk.
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(temp, target);
      await syncDirectory(path.dirname(target));
      return { digest, size };
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw PatchworkError.from(err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new PatchworkError('FAILED_PRECONDITION', 'the blob store is closed');
  }
}
