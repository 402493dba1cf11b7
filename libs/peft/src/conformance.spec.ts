import { loadModel } from '@patchwork/models';
import { assertNoLeaks, tf, withTempDir } from '@patchwork/tensor';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { loadAdapter } from './io/load-adapter';
import { PEER_ADAPTERS, PEER_MODELS, disposeAll, maxAbsDiff, readAll } from './testing/fixtures';

function inputsOf(ref: Map<string, tf.Tensor>) {
  return { inputIds: ref.get('input_ids'), attentionMask: ref.get('attention_mask'), pixelValues: ref.get('pixel_values') };
}

describe.each(['gpt2', 'bert', 'roberta', 'vit', 'llama'])('PEFT LoRA conformance: %s', (name) => {
  const dir = nodePath.join(PEER_ADAPTERS, `${name}-lora`);

  it('reproduces the logits with the adapter active, the merged weights and the merged logits', async () => {
    const model = await loadModel(nodePath.join(PEER_MODELS, name));
    const ref = await readAll(nodePath.join(dir, 'reference.safetensors'));
    const expectedMerged = await readAll(nodePath.join(dir, 'merged_model.safetensors'));
    await assertNoLeaks(async () => {
      const adapter = await loadAdapter(dir, model);
      expect(adapter.peftType).toBe('LORA');
      const out = adapter.forward(inputsOf(ref));
      expect(maxAbsDiff(out.logits, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
      out.logits.dispose();

      const merged = adapter.mergeWeights();
      let compared = 0;
      for (const [key, expected] of expectedMerged) {
        const ours = merged.get(model.canonicalKey(key));
        if (ours === undefined) continue; // a tied lm_head copy
        expect([key, maxAbsDiff(ours, expected) < 1e-5]).toEqual([key, true]);
        compared++;
      }
      expect(compared).toBe(merged.size);
      const mergedModel = adapter.mergeIntoModel();
      const mergedOut = mergedModel.forward(inputsOf(ref));
      expect(maxAbsDiff(mergedOut.logits, ref.get('merged_logits') as tf.Tensor)).toBeLessThan(1e-4);

      const unmerged = adapter.unmergeWeights(merged);
      for (const [key, base] of model.weights) expect(maxAbsDiff(unmerged.get(key) as tf.Tensor, base)).toBeLessThan(1e-5);
      disposeAll([...merged.values(), ...unmerged.values(), mergedOut.logits]);
      mergedModel.dispose();
      adapter.dispose();
    });
    disposeAll([...ref.values(), ...expectedMerged.values()]);
    model.dispose();
  });

  it('saves an adapter that matches the fixture file for file and loads back to the same logits', async () => {
    const model = await loadModel(nodePath.join(PEER_MODELS, name));
    const ref = await readAll(nodePath.join(dir, 'reference.safetensors'));
    await withTempDir(async (tmp) => {
      const adapter = await loadAdapter(dir, model);
      const out = nodePath.join(tmp, 'copy');
      await adapter.save(out);
      expect(await readFile(nodePath.join(out, 'adapter_config.json'), 'utf8')).toBe(await readFile(nodePath.join(dir, 'adapter_config.json'), 'utf8'));
      const [ours, theirs] = [await readAll(nodePath.join(out, 'adapter_model.safetensors')), await readAll(nodePath.join(dir, 'adapter_model.safetensors'))];
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      for (const [k, t] of theirs) expect(maxAbsDiff(ours.get(k) as tf.Tensor, t)).toBe(0);
      const again = await loadAdapter(out, model);
      const logits = again.forward(inputsOf(ref)).logits;
      expect(maxAbsDiff(logits, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
      disposeAll([logits, ...ours.values(), ...theirs.values()]);
      again.dispose();
      adapter.dispose();
    });
    disposeAll(ref.values());
    model.dispose();
  });
});

describe('PEFT AdaLoRA conformance: gpt2', () => {
  const dir = nodePath.join(PEER_ADAPTERS, 'gpt2-adalora');

  it('reproduces the logits (ranknum stays init_r) and round-trips the pruned adapter byte-identically', async () => {
    const model = await loadModel(nodePath.join(PEER_MODELS, 'gpt2'));
    const ref = await readAll(nodePath.join(dir, 'reference.safetensors'));
    await withTempDir(async (tmp) => {
      await assertNoLeaks(async () => {
        const adapter = await loadAdapter(dir, model);
        expect(adapter.peftType).toBe('ADALORA');
        const logits = adapter.forward(inputsOf(ref)).logits;
        expect(maxAbsDiff(logits, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
        const merged = adapter.mergeIntoModel();
        const mergedLogits = merged.forward(inputsOf(ref)).logits;
        expect(maxAbsDiff(mergedLogits, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
        await adapter.save(nodePath.join(tmp, 'ada'));
        expect(await readFile(nodePath.join(tmp, 'ada/adapter_config.json'), 'utf8')).toBe(await readFile(nodePath.join(dir, 'adapter_config.json'), 'utf8'));
        const [ours, theirs] = [await readAll(nodePath.join(tmp, 'ada/adapter_model.safetensors')), await readAll(nodePath.join(dir, 'adapter_model.safetensors'))];
        expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
        for (const [k, t] of theirs) expect(maxAbsDiff(ours.get(k) as tf.Tensor, t)).toBe(0);
        disposeAll([logits, mergedLogits, ...ours.values(), ...theirs.values()]);
        merged.dispose();
        adapter.dispose();
      });
    });
    disposeAll(ref.values());
    model.dispose();
  });
});
