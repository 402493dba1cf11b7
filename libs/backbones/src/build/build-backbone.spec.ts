import { loadModel } from '@patchwork/models';
import { SafetensorsFile, initBackend, tf, withTempDir } from '@patchwork/tensor';
import { loadTokenizer } from '@patchwork/tokenizers';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { tinyTextRecipe, tinyVitRecipe } from '../testing/tiny-recipes';
import { buildBackbone } from './build-backbone';
import { readManifest } from './manifest';

const weightsOf = (dir: string) => readFile(nodePath.join(dir, 'model.safetensors'));

describe('buildBackbone', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('vit-digits: same seed gives the same bytes, another seed does not; loadModel reads it', async () => {
    await withTempDir(async (root) => {
      const recipe = tinyVitRecipe();
      const a = await buildBackbone({ name: 'vit-digits', outDir: nodePath.join(root, 'a'), recipe, seed: 1 });
      const b = await buildBackbone({ name: 'vit-digits', outDir: nodePath.join(root, 'b'), recipe, seed: 1 });
      const c = await buildBackbone({ name: 'vit-digits', outDir: nodePath.join(root, 'c'), recipe, seed: 2 });
      expect((await weightsOf(a.dir)).equals(await weightsOf(b.dir))).toBe(true);
      expect((await weightsOf(a.dir)).equals(await weightsOf(c.dir))).toBe(false);
      expect(await readFile(nodePath.join(a.dir, 'patchwork_backbone.json'), 'utf8')).toBe(await readFile(nodePath.join(b.dir, 'patchwork_backbone.json'), 'utf8'));
      expect(a.recipeHash).toBe(b.recipeHash);
      expect(a.recipeHash).not.toBe(c.recipeHash);
      expect(a.metrics.accuracy).toBeGreaterThanOrEqual(0);
      expect(a.metrics.heldOutExamples).toBeGreaterThan(50);
      expect((await readdir(a.dir)).sort()).toEqual(['config.json', 'model.safetensors', 'patchwork_backbone.json', 'preprocessor_config.json']);
      const model = await loadModel(a.dir);
      const logits = tf.tidy(() => model.forward({ pixelValues: tf.zeros([2, 1, 8, 8]) }).logits.shape);
      expect(logits).toEqual([2, 5]);
      model.dispose();
      // Nothing but the published directories is left behind.
      expect((await readdir(root)).sort()).toEqual(['a', 'b', 'c']);
    });
  });

  it('gpt2-tiny: a Hugging Face directory with its tokenizer, deterministic, and an evolved variant from it', async () => {
    await withTempDir(async (root) => {
      const recipe = tinyTextRecipe('gpt2');
      const base = await buildBackbone({ name: 'gpt2-tiny', outDir: nodePath.join(root, 'base'), recipe, seed: 3 });
      const again = await buildBackbone({ name: 'gpt2-tiny', outDir: nodePath.join(root, 'again'), recipe, seed: 3 });
      expect((await weightsOf(base.dir)).equals(await weightsOf(again.dir))).toBe(true);
      expect((await readdir(base.dir)).sort()).toEqual(['config.json', 'model.safetensors', 'patchwork_backbone.json', 'tokenizer.json', 'tokenizer_config.json']);
      expect(base.metrics.heldOutPerplexity).toBeGreaterThan(1);
      expect(base.metrics.unigramPerplexity).toBeGreaterThan(1);
      expect(Object.keys(base.metrics.heldOut ?? {}).sort()).toEqual(['base', 'new']);

      const tokenizer = await loadTokenizer(base.dir);
      const ids = tokenizer.encode('Call me Ishmael.').ids;
      expect(tokenizer.decode(ids)).toBe('Call me Ishmael.');
      const model = await loadModel(base.dir);
      expect(model.modelType).toBe('gpt2');
      const shape = tf.tidy(() => model.forward({ inputIds: tf.tensor2d([ids], undefined, 'int32') }).logits.shape);
      expect(shape).toEqual([1, ids.length, tokenizer.vocabSize]);
      model.dispose();

      const evolved = await buildBackbone({ name: 'gpt2-tiny', evolved: true, baseDir: base.dir, outDir: nodePath.join(root, 'evolved'), recipe, seed: 3 });
      const manifest = await readManifest(evolved.dir);
      expect(manifest.evolved).toBe(true);
      expect(manifest.base?.recipeHash).toBe(base.recipeHash);
      expect(await readFile(nodePath.join(evolved.dir, 'tokenizer.json'), 'utf8')).toBe(await readFile(nodePath.join(base.dir, 'tokenizer.json'), 'utf8'));
      expect((await weightsOf(evolved.dir)).equals(await weightsOf(base.dir))).toBe(false);
    });
  });

  it('bert-tiny: encoder, pooler, classifier and the MLM head keys transformers uses; evolved continues the head', async () => {
    await withTempDir(async (root) => {
      const recipe = tinyTextRecipe('bert');
      const base = await buildBackbone({ name: 'bert-tiny', outDir: nodePath.join(root, 'base'), recipe, seed: 3 });
      const file = await SafetensorsFile.open(nodePath.join(base.dir, 'model.safetensors'));
      expect(file.metadata).toEqual({ format: 'pt' });
      const names = file.names();
      await file.close();
      for (const key of ['bert.embeddings.word_embeddings.weight', 'bert.pooler.dense.weight', 'classifier.weight', 'cls.predictions.transform.dense.weight', 'cls.predictions.transform.LayerNorm.weight', 'cls.predictions.bias']) {
        expect(names).toContain(key);
      }
      expect(names).not.toContain('cls.predictions.decoder.weight');
      const config = JSON.parse(await readFile(nodePath.join(base.dir, 'config.json'), 'utf8'));
      expect(config.architectures).toEqual(['BertForMaskedLM', 'BertForSequenceClassification']);
      const tokenizer = await loadTokenizer(base.dir);
      const enc = tokenizer.encode('Call me Ishmael.');
      expect(enc.tokens[0]).toBe('[CLS]');
      expect(enc.tokens.at(-1)).toBe('[SEP]');
      const model = await loadModel(base.dir);
      expect(model.modelType).toBe('bert');
      model.dispose();
      const evolved = await buildBackbone({ name: 'bert-tiny', evolved: true, outDir: nodePath.join(root, 'evolved'), recipe, seed: 3 });
      expect(evolved.metrics.heldOutPerplexity).toBeGreaterThan(1);
      expect((await readManifest(evolved.dir)).base?.recipeHash).toBe(base.recipeHash);
      expect((await readdir(root)).sort()).toEqual(['base', 'evolved']);
    });
  });

  it('rejects bad requests before doing any work', async () => {
    await withTempDir(async (root) => {
      const full = nodePath.join(root, 'full');
      await mkdir(full);
      await writeFile(nodePath.join(full, 'x'), 'x');
      await expect(buildBackbone({ name: 'vit-digits', outDir: full, recipe: tinyVitRecipe() })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      await expect(buildBackbone({ name: 'resnet' as never, outDir: nodePath.join(root, 'x') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/name/) });
      await expect(buildBackbone({ name: 'vit-digits', evolved: true, outDir: nodePath.join(root, 'x'), steps: 0, seed: -1 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/evolved.*seed.*steps/),
      });
      await expect(buildBackbone({ name: 'gpt2-tiny', outDir: nodePath.join(root, 'x'), recipe: tinyVitRecipe() })).rejects.toThrow(/recipe.family/);
      await expect(buildBackbone({ name: 'gpt2-tiny', evolved: true, baseDir: full, outDir: nodePath.join(root, 'y'), recipe: tinyTextRecipe('gpt2') })).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
      });
      expect((await readdir(root)).sort()).toEqual(['full']);
    });
  });

  it('leaves nothing behind when cancelled', async () => {
    await withTempDir(async (root) => {
      const controller = new AbortController();
      const build = buildBackbone({
        name: 'vit-digits',
        outDir: nodePath.join(root, 'out'),
        recipe: { ...tinyVitRecipe(), training: { ...tinyVitRecipe().training, steps: 50 } },
        signal: controller.signal,
        onProgress: (p) => {
          if (p.train?.step === 2) controller.abort();
        },
      });
      await expect(build).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await readdir(root)).toEqual([]);
    });
  });
});
