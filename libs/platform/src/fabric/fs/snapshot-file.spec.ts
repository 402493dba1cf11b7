import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SnapshotFile } from './snapshot-file';

describe('SnapshotFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pw-snapshot-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('coalesces a burst of commits into few writes, each commit seeing a state at least as new as its own', async () => {
    let state = 0;
    let writes = 0;
    const file = new SnapshotFile(path.join(dir, 'state.json'), () => {
      writes++;
      return Buffer.from(JSON.stringify({ state }));
    });
    const commits: Promise<number>[] = [];
    for (let i = 1; i <= 100; i++) {
      state = i;
      const mine = i;
      commits.push(file.commit().then(async () => JSON.parse((await fs.readFile(file.path, 'utf8')) as string).state - mine));
    }
    const lags = await Promise.all(commits);
    expect(lags.every((d) => d >= 0)).toBe(true);
    expect(writes).toBeLessThanOrEqual(2);
    expect(JSON.parse(await fs.readFile(file.path, 'utf8'))).toEqual({ state: 100 });
    expect(await fs.readdir(dir)).toEqual(['state.json']);
  });

  it('rejects the waiting commits when the write fails, and recovers on the next commit', async () => {
    const target = path.join(dir, 'missing-dir', 'state.json');
    const file = new SnapshotFile(target, () => Buffer.from('{}'));
    await expect(file.commit()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await fs.mkdir(path.dirname(target));
    await file.commit();
    expect(await SnapshotFile.read(target)).toEqual(Buffer.from('{}'));
    expect(await SnapshotFile.read(path.join(dir, 'none.json'))).toBeNull();
  });
});
