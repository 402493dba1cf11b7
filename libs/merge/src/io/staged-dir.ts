import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { PatchworkError } from '@patchwork/errors';

/** Refuses an output directory that exists with content (a finished artifact is never overwritten in place). */
export async function assertFreshOutput(dir: string): Promise<void> {
  try {
    if ((await fs.readdir(dir)).length > 0) throw new PatchworkError('ALREADY_EXISTS', `output ${dir} already exists and is not empty`, { violations: [{ field: 'outDir', description: 'not empty' }] });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
  }
}

/** Builds a directory beside `outDir`, then renames it into place: the output appears whole or not at all. */
export async function staged<T>(outDir: string, build: (dir: string) => Promise<T>): Promise<T> {
  const staging = `${outDir}.partial-${randomBytes(6).toString('hex')}`;
  try {
    const result = await build(staging);
    await fs.rm(outDir, { recursive: true, force: true });
    await fs.rename(staging, outDir);
    return result;
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
}
