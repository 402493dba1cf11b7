import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';

const heldInThisProcess = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

/**
 * The embedded fabric keeps its state in memory and rewrites whole files: two processes (or two
 * fabrics in one process) on one data dir would overwrite each other, so the dir is locked with a
 * pid file. A lock left by a dead process is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const dir = path.resolve(dataDir);
  const lockPath = path.join(dir, 'LOCK');
  if (heldInThisProcess.has(dir)) {
    throw new PatchworkError('FAILED_PRECONDITION', `data dir ${dir} is already open in this process (close the other fabric first)`);
  }
  await fs.mkdir(dir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw PatchworkError.from(err);
      if (attempt > 0) throw new PatchworkError('FAILED_PRECONDITION', `data dir ${dir} was locked by another process just now`);
      const owner = Number.parseInt((await fs.readFile(lockPath, 'utf8').catch(() => '')).trim(), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new PatchworkError('FAILED_PRECONDITION', `data dir ${dir} is in use by process ${owner}`);
      }
      await fs.rm(lockPath, { force: true });
    }
  }
  heldInThisProcess.add(dir);
  return async () => {
    heldInThisProcess.delete(dir);
    await fs.rm(lockPath, { force: true });
  };
}
