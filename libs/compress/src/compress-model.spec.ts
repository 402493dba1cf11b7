import { SafetensorsFile, SeededRandom, initBackend, tf, withTempDir, writeSafetensors } from '@patchwork/tensor';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { compressModel, type CompressProgress } from './compress-model';
import { tensorDataset } from './distill/dataset';
import { loadLowRankModel } from './low-rank/load';
import { peerModelDir, readReference, referenceInputs } from './testing/fixtures';
import { saveTinyGpt2, saveTinyVit } from './testing/model-dirs';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('compressModel', () => {
  it('factors, distils and saves a GPT-2, reporting parameters, FLOPs and per-layer errors before and after', async () => {
    await withTempDir(async (tmp) => {
      const before = tf.memory().numTensors;
      const rng = new SeededRandom(5);
      const dataset = tensorDataset({ inputIds: tf.tensor2d(Int32Array.from({ length: 8 * 12 }, () => rng.nextUint32() % 100), [8, 12], 'int32') });
      const events: CompressProgress['phase'][] = [];
      const outDir = nodePath.join(tmp, 'out');
      const report = await compressModel({
        modelDir: peerModelDir('gpt2'),
        outDir,
        gamma: 2,
        distill: { dataset, steps: 3, batchSize: 4, optimizer: { lr: 1e-3 } },
        onProgress: (e) => events.push(e.phase),
      });
      dataset.dispose();
      expect(events).toEqual([...Array(8).fill('factorize'), 'distill', 'distill', 'distill', 'save']);
      expect(report).toMatchObject({ model_type: 'gpt2', gamma: 2, target_ratio: null, svd: 'exact', context_length: 64, out_dir: outDir });
      // 30720 dense; per layer c_attn 32x96 -> r 12, c_proj 32x32 -> 8, c_fc 32x128 -> 12, mlp.c_proj 128x32 -> 12.
      const perLayer = 12 * 128 + 8 * 64 + 12 * 160 + 12 * 160 - (32 * 96 + 32 * 32 + 32 * 128 + 128 * 32);
      expect(report.params_before).toBe(30720);
      expect(report.params_after).toBe(30720 + 2 * perLayer);
      expect(report.param_ratio).toBeCloseTo(report.params_after / 30720, 12);
      expect(report.flops_per_token_before - report.flops_per_token_after).toBe(-4 * perLayer);
      expect(report.layers.map((l) => l.rank)).toEqual([12, 8, 12, 12, 12, 8, 12, 12]);
      for (const l of report.layers) {
        expect(Math.abs(l.relError - (l.optimalRelError as number)) / (l.optimalRelError as number)).toBeLessThan(1e-4);
        expect(l.relErrorAfterDistill).toBeGreaterThan(0);
        expect(l.relErrorAfterDistill).not.toBe(l.relError);
      }
      expect(report.skipped).toEqual([{ module: 'lm_head', reason: 'excluded' }]);
      expect(report.distill?.steps).toBe(3);
      expect(report.distill?.history).toHaveLength(3);
      expect(report.distill?.first.featureDistill).toBeGreaterThan(0);
      expect(report.files.map((f) => nodePath.basename(f))).toEqual(['model.safetensors', 'config.json']);
      expect((await readdir(outDir)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
      expect(tf.memory().numTensors).toBe(before);

      const loaded = await loadLowRankModel(outDir);
      expect(loaded.parameterCount()).toBe(report.params_after);
      expect(loaded.settings.distillation).toMatchObject({ steps: 3 });
      const ref = await readReference('gpt2');
      const out = loaded.forward(referenceInputs(ref));
      expect(Array.from(out.logits.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([out.logits, ...ref.values()]);
      loaded.dispose();
    });
  });

  it('meets a target ratio with the randomized SVD, keeping the source dtype, without distillation', async () => {
    await withTempDir(async (tmp) => {
      // The ViT fixture converted to F16, as many published checkpoints are.
      const modelDir = nodePath.join(tmp, 'vit-f16');
      await mkdir(modelDir);
      await copyFile(nodePath.join(peerModelDir('vit'), 'config.json'), nodePath.join(modelDir, 'config.json'));
      const source = await SafetensorsFile.open(nodePath.join(peerModelDir('vit'), 'model.safetensors'));
      const tensors: Parameters<typeof writeSafetensors>[1] = {};
      for (const info of source.tensors) tensors[info.name] = { dtype: 'F16', shape: info.shape, data: await source.readFloat32(info.name) };
      await source.close();
      await writeSafetensors(nodePath.join(modelDir, 'model.safetensors'), tensors, { format: 'pt' });

      const outDir = nodePath.join(tmp, 'vit');
      const report = await compressModel({ modelDir, outDir, targetRatio: 0.7, svd: 'randomized', contextLength: 10 });
      expect(report.param_ratio).toBeLessThanOrEqual(0.7);
      expect(report.target_ratio).toBe(0.7);
      expect(report.distill).toBeNull();
      expect(report.context_length).toBe(10);
      for (const l of report.layers) {
        expect(l.optimalRelError).toBeNull();
        expect(l.relErrorAfterDistill).toBeUndefined();
      }
      const file = await SafetensorsFile.open(nodePath.join(outDir, 'model.safetensors'));
      expect(file.tensors.length).toBeGreaterThan(0);
      expect(file.tensors.every((t) => t.dtype === 'F16')).toBe(true);
      expect(file.has('vit.encoder.layer.0.attention.attention.query.weight_u')).toBe(true);
      await file.close();
    });
  });

  it('refuses bad requests before doing any work', async () => {
    await withTempDir(async (tmp) => {
      const modelDir = peerModelDir('gpt2');
      await expect(compressModel({ modelDir, outDir: modelDir, gamma: 2 })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      await expect(compressModel({ modelDir, outDir: nodePath.join(tmp, 'a') })).rejects.toThrow(/exactly one of gamma and targetRatio/);
      await expect(compressModel({ modelDir: nodePath.join(tmp, 'none'), outDir: nodePath.join(tmp, 'b'), gamma: 2 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(compressModel({ modelDir, outDir: '', gamma: 2 })).rejects.toThrow(/outDir: is required/);
      await expect(compressModel({ modelDir, outDir: nodePath.join(tmp, 'c'), gamma: 2, contextLength: 0 })).rejects.toThrow(/contextLength/);
      expect(await readdir(tmp)).toEqual([]);
    });
  });

  it('distils on a named corpus, stops on its signal with a checkpoint, and resumes to the same result', async () => {
    await withTempDir(async (tmp) => {
      const modelDir = await saveTinyGpt2(nodePath.join(tmp, 'gpt2'));
      const distill = { dataset: 'moby-dick', data: { maxLength: 16, maxExamples: 24 }, steps: 4, batchSize: 4, optimizer: { lr: 1e-3 }, seed: 3 };
      const reference = await compressModel({ modelDir, outDir: nodePath.join(tmp, 'reference'), gamma: 2, distill });
      expect(reference.distill?.data).toEqual({ name: 'moby-dick', kind: 'corpus', split: 'train', examples: 24, length: 16, taskTerm: 'lm' });
      expect(reference.distill?.history.map((r) => r.task)).toEqual(expect.arrayContaining([expect.any(Number)]));

      const before = tf.memory().numTensors;
      const checkpoint = { dir: nodePath.join(tmp, 'checkpoints'), every: 1 };
      const controller = new AbortController();
      const stopped = compressModel({
        modelDir,
        outDir: nodePath.join(tmp, 'out'),
        gamma: 2,
        distill: { ...distill, checkpoint },
        signal: controller.signal,
        onProgress: (e) => e.phase === 'distill' && e.step === 2 && controller.abort('shutdown'),
      });
      await expect(stopped).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringMatching(/resume from .*checkpoint-2/) });
      expect(await readdir(tmp)).not.toContain('out');
      expect(tf.memory().numTensors).toBe(before);

      const resumed = await compressModel({ modelDir, outDir: nodePath.join(tmp, 'out'), gamma: 2, distill: { ...distill, checkpoint } });
      expect(resumed.distill?.resumedFromStep).toBe(2);
      expect(resumed.distill?.history).toEqual(reference.distill?.history);
      expect(resumed.layers.map((l) => l.relErrorAfterDistill)).toEqual(reference.layers.map((l) => l.relErrorAfterDistill));
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('refuses unusable distillation data and settings before factorizing', async () => {
    await withTempDir(async (tmp) => {
      const events: string[] = [];
      const run = (distill: object) => compressModel({ modelDir: peerModelDir('vit'), outDir: nodePath.join(tmp, 'o'), gamma: 2, distill: distill as never, onProgress: (e) => events.push(e.phase) });
      await expect(run({ dataset: 'moby-dick', steps: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/is text but the vit model reads images/) });
      await expect(run({ dataset: 'digits', steps: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/8x8 images but the model takes 16x16/) });
      const tinyVit = await saveTinyVit(nodePath.join(tmp, 'vit8'), 2);
      await expect(compressModel({ modelDir: tinyVit, outDir: nodePath.join(tmp, 'o'), gamma: 2, distill: { dataset: 'digits', steps: 2, alpha: 0, beta: 0 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/digits gives this model no task loss/) });
      await rm(tinyVit, { recursive: true });
      const rng = new SeededRandom(1);
      const dataset = tensorDataset({ pixelValues: tf.tensor4d(Float32Array.from({ length: 2 * 3 * 16 * 16 }, () => rng.nextUint32() / 2 ** 32), [2, 3, 16, 16]) });
      await expect(run({ dataset, steps: 0, alpha: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/distill\.alpha.*distill\.steps|distill\.steps.*distill\.alpha/) });
      dataset.dispose();
      expect(events.filter((e) => e === 'factorize')).toEqual([]);
      expect(await readdir(tmp)).toEqual([]);
    });
  });

  it('is cancelled by its signal and leaves no output behind', async () => {
    await withTempDir(async (tmp) => {
      const before = tf.memory().numTensors;
      const controller = new AbortController();
      const outDir = nodePath.join(tmp, 'x');
      const run = compressModel({ modelDir: peerModelDir('llama'), outDir, gamma: 2, signal: controller.signal, onProgress: (e) => e.phase === 'factorize' && e.index === 3 && controller.abort() });
      await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await readdir(tmp)).toEqual([]);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
