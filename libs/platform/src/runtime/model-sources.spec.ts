import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ArtifactRegistry } from '../artifacts';
import { createModelResolver } from './model-sources';

describe('model path references', () => {
  let root: string;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'roots-'));
    await fs.mkdir(path.join(root, 'volume', 'model'), { recursive: true });
    await fs.mkdir(path.join(root, 'elsewhere'), { recursive: true });
    await fs.symlink(path.join(root, 'volume'), path.join(root, 'mounted'));
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  const artifacts = {} as ArtifactRegistry;

  it('allows directories under a root reached through a symlink, and refuses the rest', async () => {
    const resolve = createModelResolver({ artifacts, pathRoots: [path.join(root, 'mounted')] });
    await expect(resolve(`path:${path.join(root, 'mounted', 'model')}`, 'model')).resolves.toBe(await fs.realpath(path.join(root, 'volume', 'model')));
    await expect(resolve(`path:${path.join(root, 'volume', 'model')}`, 'model')).resolves.toBeTruthy();
    await expect(resolve(`path:${path.join(root, 'elsewhere')}`, 'model')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(resolve(`path:${path.join(root, 'mounted', 'model', '..', '..', 'elsewhere')}`, 'model')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(resolve(`path:${path.join(root, 'missing')}`, 'model')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses path references when no root is configured', async () => {
    const resolve = createModelResolver({ artifacts, pathRoots: [] });
    await expect(resolve(`path:${root}`, 'model')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
  });
});
