import { PatchworkError } from '@patchwork/errors';
import type { FileHandle } from 'node:fs/promises';

/** Node's single read/write call is capped near 2 GiB; big tensors move in slices of this size. */
const IO_CHUNK = 64 * 1024 * 1024;

/** Reads exactly `length` bytes at `position` into a fresh (8-byte aligned) buffer. */
export async function readExactly(handle: FileHandle, position: number, length: number, source: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, Math.min(IO_CHUNK, length - done), position + done);
    if (bytesRead === 0) {
      throw new PatchworkError('DATA_LOSS', `${source}: file ended at byte ${position + done} while reading ${length} bytes at ${position} (was it truncated after opening?)`);
    }
    done += bytesRead;
  }
  return out;
}

/** Writes all of `bytes` at `position`, looping over short writes. */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done), position + done);
    done += bytesWritten;
  }
}

/**
 * Wraps a filesystem error with context. The errno code is read directly rather than through
 * `instanceof Error`, which fails for errors created in another realm (Jest's sandbox, workers).
 */
export function fsError(e: unknown, context: string): PatchworkError {
  if (e instanceof PatchworkError) return e;
  const errno = (e as { code?: unknown } | null)?.code;
  const detail = (e as { message?: unknown } | null)?.message ?? String(e);
  const code =
    errno === 'ENOENT' ? 'NOT_FOUND' : errno === 'EACCES' || errno === 'EPERM' ? 'PERMISSION_DENIED' : errno === 'ENOSPC' ? 'RESOURCE_EXHAUSTED' : errno === 'EEXIST' ? 'ALREADY_EXISTS' : 'INTERNAL';
  return new PatchworkError(code, `${context}: ${String(detail)}`, { cause: e });
}
