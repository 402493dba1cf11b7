import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';

/** A temp name beside `target`, so the final rename stays on one file system (and so is atomic). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `chunks` to a temp file beside `target`, fsyncs it, then renames it over `target`.
 * A reader sees the old file or the whole new one, never a prefix; if `chunks` throws (a digest
 * check failing at the end, say) the temp file is removed and `target` is left untouched.
 */
export async function writeFileAtomically(target: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
  const temp = tempPathFor(target);
  let size = 0;
  try {
    const handle = await fs.open(temp, 'wx', 0o644);
    try {
      for await (const chunk of chunks) {
        let offset = 0;
        while (offset < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
          offset += bytesWritten;
        }
        size += chunk.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw PatchworkError.from(err);
  }
  await syncDirectory(path.dirname(target));
  return size;
}

/** Makes a rename durable: without it a crash can forget the new directory entry. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the data itself is already synced.
  } finally {
    await handle?.close();
  }
}
