import { tf, withTempDir } from '@patchwork/tensor';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { CHECKPOINT_FILES, checkpointPath, listCheckpoints, readCheckpoint, removeStaleTemporaries, writeCheckpoint } from './checkpoint-store';

describe('checkpoint store', () => {
  it('writes complete folders, keeps the newest ones and reads them back exactly', async () => {
    await withTempDir(async (root) => {
      const w = tf.tensor2d([[1.5, -2], [3, 1e-30]]);
      for (const step of [1, 2, 3]) await writeCheckpoint(root, step, { params: new Map([['w', w]]), optimizer: new Map(), state: { step } }, 2);
      expect(await listCheckpoints(root)).toEqual([2, 3]);
      expect((await readdir(root)).sort()).toEqual(['checkpoint-2', 'checkpoint-3']);
      const loaded = await readCheckpoint(checkpointPath(root, 3));
      expect(loaded.state).toEqual({ step: 3 });
      expect(Array.from(loaded.params.get('w')?.dataSync() ?? [])).toEqual(Array.from(w.dataSync()));
      expect(loaded.extra).toBeUndefined();
      tf.dispose([w, ...loaded.params.values()]);
    });
  });

  it('ignores folders without a state file and removes stale temporaries', async () => {
    await withTempDir(async (root) => {
      await mkdir(nodePath.join(root, 'checkpoint-9'));
      await mkdir(nodePath.join(root, '.checkpoint-10.123.abc.tmp'));
      expect(await listCheckpoints(root)).toEqual([]);
      await removeStaleTemporaries(root);
      expect(await readdir(root)).toEqual(['checkpoint-9']);
      expect(await listCheckpoints(nodePath.join(root, 'missing'))).toEqual([]);
    });
  });

  it('reports corrupt content as DATA_LOSS naming the file', async () => {
    await withTempDir(async (root) => {
      const dir = checkpointPath(root, 1);
      await mkdir(dir);
      await writeFile(nodePath.join(dir, CHECKPOINT_FILES.state), '{"step": 1}');
      await writeFile(nodePath.join(dir, CHECKPOINT_FILES.params), 'not safetensors');
      await expect(readCheckpoint(dir)).rejects.toMatchObject({ code: 'DATA_LOSS', message: expect.stringContaining('params.safetensors') });
      await writeFile(nodePath.join(dir, CHECKPOINT_FILES.state), '{');
      await expect(readCheckpoint(dir)).rejects.toMatchObject({ code: 'DATA_LOSS', message: expect.stringContaining('trainer_state.json') });
    });
  });
});
