import { initBackend, withTempDir } from '@patchwork/tensor';
import { readdir, rm, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { tinyTextRecipe, tinyVitRecipe } from '../testing/tiny-recipes';
import { cachedBackbone } from './cache';
import { MANIFEST_FILE } from './manifest';

describe('cachedBackbone', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('builds once under <dataDir>/backbones/<name>-<hash>/ and reuses it, also for concurrent callers', async () => {
    await withTempDir(async (dataDir) => {
      const recipe = tinyVitRecipe();
      const [first, concurrent] = await Promise.all([cachedBackbone('vit-digits', { dataDir, recipe }), cachedBackbone('vit-digits', { dataDir, recipe })]);
      expect(first.cached).toBe(false);
      expect(concurrent).toBe(first);
      expect(first.dir).toBe(nodePath.join(dataDir, 'backbones', `vit-digits-${first.recipeHash}`));
      const second = await cachedBackbone('vit-digits', { dataDir, recipe });
      expect(second).toMatchObject({ dir: first.dir, cached: true, seconds: 0, metrics: first.metrics });
      const other = await cachedBackbone('vit-digits', { dataDir, recipe, seed: 9 });
      expect(other.dir).not.toBe(first.dir);
      expect(await readdir(nodePath.join(dataDir, 'backbones'))).toHaveLength(2);
    });
  });

  it('builds the evolved variant from the cached base', async () => {
    await withTempDir(async (dataDir) => {
      const recipe = tinyTextRecipe('gpt2');
      const evolved = await cachedBackbone('gpt2-tiny', { dataDir, recipe, evolved: true });
      const base = await cachedBackbone('gpt2-tiny', { dataDir, recipe });
      expect(base.cached).toBe(true);
      expect(nodePath.basename(evolved.dir)).toBe(`gpt2-tiny-evolved-${evolved.recipeHash}`);
      expect((await readdir(nodePath.join(dataDir, 'backbones'))).sort()).toEqual([nodePath.basename(base.dir), nodePath.basename(evolved.dir)].sort());
    });
  });

  it('refuses a cache entry whose manifest does not match its name', async () => {
    await withTempDir(async (dataDir) => {
      const recipe = tinyVitRecipe();
      const built = await cachedBackbone('vit-digits', { dataDir, recipe });
      await writeFile(nodePath.join(built.dir, MANIFEST_FILE), JSON.stringify({ name: 'vit-digits', evolved: false, recipeHash: 'x', metrics: {} }));
      await expect(cachedBackbone('vit-digits', { dataDir, recipe })).rejects.toMatchObject({ code: 'DATA_LOSS' });
      await rm(built.dir, { recursive: true });
      expect((await cachedBackbone('vit-digits', { dataDir, recipe })).cached).toBe(false);
    });
  });
});
