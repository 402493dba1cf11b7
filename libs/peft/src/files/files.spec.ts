import { loadModel } from '@patchwork/models';
import { SafetensorsFile, tf, withTempDir, writeSafetensors } from '@patchwork/tensor';
import { access, copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { PEER_ADAPTERS, PEER_MODELS, disposeAll, maxAbsDiff, readAll, rejection } from '../testing/fixtures';
import { applyAdapterForward } from './adapter-forward';
import { mergeAdapterIntoModel } from './merge-model';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('applyAdapterForward', () => {
  it.each(['gpt2', 'vit'])('%s: writes the logits PEFT computed with the adapter active', async (name) => {
    await withTempDir(async (tmp) => {
      const adapterDir = nodePath.join(PEER_ADAPTERS, `${name}-lora`);
      const outPath = nodePath.join(tmp, 'out.safetensors');
      const result = await applyAdapterForward({ modelDir: nodePath.join(PEER_MODELS, name), adapterDir, inputsPath: nodePath.join(adapterDir, 'reference.safetensors'), outPath, outputHiddenStates: true });
      expect(result.peftType).toBe('LORA');
      expect(result.adaptedModules).toHaveLength(name === 'gpt2' ? 8 : 4);
      expect(result.hiddenStates).toBe(3);
      const [ours, ref] = [await readAll(outPath), await readAll(nodePath.join(adapterDir, 'reference.safetensors'))];
      expect(maxAbsDiff(ours.get('logits') as tf.Tensor, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
      expect(ours.has('hidden_states.2')).toBe(true);
      disposeAll([...ours.values(), ...ref.values()]);
    });
  });

  it('rejects inputs that do not fit the model', async () => {
    await withTempDir(async (tmp) => {
      const err = await rejection(
        applyAdapterForward({
          modelDir: nodePath.join(PEER_MODELS, 'gpt2'),
          adapterDir: nodePath.join(PEER_ADAPTERS, 'gpt2-lora'),
          inputsPath: nodePath.join(PEER_ADAPTERS, 'vit-lora/reference.safetensors'),
          outPath: nodePath.join(tmp, 'o.safetensors'),
        }),
      );
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain('input_ids: is missing');
      expect(await exists(nodePath.join(tmp, 'o.safetensors'))).toBe(false);
    });
  });
});

describe('mergeAdapterIntoModel', () => {
  it('writes a Hugging Face model that loads to PEFT merged logits and weights', async () => {
    await withTempDir(async (tmp) => {
      const adapterDir = nodePath.join(PEER_ADAPTERS, 'llama-lora');
      const outDir = nodePath.join(tmp, 'merged');
      const result = await mergeAdapterIntoModel({ modelDir: nodePath.join(PEER_MODELS, 'llama'), adapterDir, outDir });
      expect(result.mergedModules).toHaveLength(14);
      expect((await readdir(outDir)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
      expect(await readFile(nodePath.join(outDir, 'config.json'), 'utf8')).toBe(await readFile(nodePath.join(PEER_MODELS, 'llama/config.json'), 'utf8'));
      const [ours, theirs] = [await readAll(nodePath.join(outDir, 'model.safetensors')), await readAll(nodePath.join(adapterDir, 'merged_model.safetensors'))];
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      for (const [k, t] of theirs) expect([k, maxAbsDiff(ours.get(k) as tf.Tensor, t) < 1e-5]).toEqual([k, true]);
      const merged = await loadModel(outDir);
      const ref = await readAll(nodePath.join(adapterDir, 'reference.safetensors'));
      const logits = merged.forward({ inputIds: ref.get('input_ids'), attentionMask: ref.get('attention_mask') }).logits;
      expect(maxAbsDiff(logits, ref.get('merged_logits') as tf.Tensor)).toBeLessThan(1e-4);
      disposeAll([logits, ...ours.values(), ...theirs.values(), ...ref.values()]);
      merged.dispose();
    });
  });

  it("keeps the base checkpoint's dtype and its other files", async () => {
    await withTempDir(async (tmp) => {
      const baseDir = nodePath.join(tmp, 'bert-bf16');
      await mkdir(baseDir);
      await copyFile(nodePath.join(PEER_MODELS, 'bert/config.json'), nodePath.join(baseDir, 'config.json'));
      await writeFile(nodePath.join(baseDir, 'tokenizer.json'), '{}');
      const f32 = await readAll(nodePath.join(PEER_MODELS, 'bert/model.safetensors'));
      await writeSafetensors(nodePath.join(baseDir, 'model.safetensors'), Object.fromEntries([...f32].map(([k, t]) => [k, { dtype: t.dtype === 'float32' ? ('BF16' as const) : ('I64' as const), shape: [...t.shape], data: t.dataSync() as Float32Array }])));
      disposeAll(f32.values());
      const outDir = nodePath.join(tmp, 'out');
      await mergeAdapterIntoModel({ modelDir: baseDir, adapterDir: nodePath.join(PEER_ADAPTERS, 'bert-lora'), outDir });
      expect((await readdir(outDir)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
      const file = await SafetensorsFile.open(nodePath.join(outDir, 'model.safetensors'));
      expect(new Set(file.tensors.map((t) => t.dtype))).toEqual(new Set(['BF16']));
      await file.close();
    });
  });

  it('leaves no artifact when the adapter does not fit, and never overwrites a non-empty directory', async () => {
    await withTempDir(async (tmp) => {
      const outDir = nodePath.join(tmp, 'merged');
      const err = await rejection(mergeAdapterIntoModel({ modelDir: nodePath.join(PEER_MODELS, 'gpt2'), adapterDir: nodePath.join(PEER_ADAPTERS, 'llama-lora'), outDir }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain('model.layers.0.mlp.down_proj');
      expect(await readdir(tmp)).toEqual([]);
      await mkdir(outDir);
      await writeFile(nodePath.join(outDir, 'keep.txt'), 'x');
      const taken = await rejection(mergeAdapterIntoModel({ modelDir: nodePath.join(PEER_MODELS, 'gpt2'), adapterDir: nodePath.join(PEER_ADAPTERS, 'gpt2-lora'), outDir }));
      expect(taken.code).toBe('ALREADY_EXISTS');
      expect(await readdir(outDir)).toEqual(['keep.txt']);
    });
  });
});
