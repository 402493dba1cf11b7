import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PatchworkError } from '@patchwork/errors';
import type { BlobInfo } from '../../ports';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Streams a file once to learn its content address; the file is never held in memory. */
export async function hashFile(path: string): Promise<BlobInfo> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    throw PatchworkError.from(err);
  }
  return { digest: hash.digest('hex'), size };
}

/**
 * Passes `source` through while hashing it, and throws DATA_LOSS after the last chunk when the
 * bytes do not hash to `digest`. A consumer that stops early gets no verdict.
 */
export async function* verifyDigest(digest: string, source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    if (chunk.length === 0) continue; // transports differ on empty chunks; readers should not see them
    hash.update(chunk);
    size += chunk.length;
    yield chunk;
  }
  const actual = hash.digest('hex');
  if (actual !== digest) {
    throw new PatchworkError('DATA_LOSS', `blob ${digest} is corrupt: its ${size} bytes hash to ${actual}`);
  }
}
