import { type Model, loadModel } from '@patchwork/models';
import { assertNoLeaks, tf, withTempDir, writeSafetensors } from '@patchwork/tensor';
import fc from 'fast-check';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { loadAdapter } from '../io/load-adapter';
import { PEER_ADAPTERS, PEER_MODELS, disposeAll, maxAbsDiff, readAll, rejection, thrown } from '../testing/fixtures';
import { asNamed, assignTo, nextTokenLoss, snapshot, toyTokens, unchanged } from '../testing/toy';
import { createAdapter } from '../create-adapter';
import { LoraAdapter } from './lora-adapter';

const models = new Map<string, Model>();
const model = (name: string): Model => models.get(name) as Model;
beforeAll(async () => {
  for (const name of ['gpt2', 'bert', 'vit', 'llama']) models.set(name, await loadModel(nodePath.join(PEER_MODELS, name)));
});
afterAll(() => {
  for (const m of models.values()) m.dispose();
});

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('LoraAdapter.create', () => {
  it('starts as a no-op: kaiming-uniform A within 1/sqrt(in), zero B, seeded', async () => {
    const ids = toyTokens(100);
    await assertNoLeaks(() => {
      const a = LoraAdapter.create(model('gpt2'), { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_fc'] }, { seed: 7 });
      const b = LoraAdapter.create(model('gpt2'), { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_fc'] }, { seed: 7 });
      const c = LoraAdapter.create(model('gpt2'), { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_fc'] }, { seed: 8 });
      expect([...a.modules.keys()]).toEqual(['transformer.h.0.attn.c_attn', 'transformer.h.0.mlp.c_fc', 'transformer.h.1.attn.c_attn', 'transformer.h.1.mlp.c_fc']);
      const layer = a.modules.get('transformer.h.0.attn.c_attn')!;
      expect(layer.loraA.shape).toEqual([4, 32]);
      expect(layer.loraB.shape).toEqual([96, 4]);
      expect(layer.scaling).toBe(2);
      const bound = 1 / Math.sqrt(32);
      expect(values(layer.loraA).every((v) => Math.abs(v) <= bound)).toBe(true);
      expect(Math.max(...values(layer.loraA).map(Math.abs))).toBeGreaterThan(bound * 0.8);
      expect(values(layer.loraB).every((v) => v === 0)).toBe(true);
      expect(values(b.modules.get(layer.module)!.loraA)).toEqual(values(layer.loraA));
      expect(values(c.modules.get(layer.module)!.loraA)).not.toEqual(values(layer.loraA));
      const base = model('gpt2').forward({ inputIds: ids }).logits;
      const adapted = a.forward({ inputIds: ids }).logits;
      expect(maxAbsDiff(base, adapted)).toBe(0);
      expect(a.config.fan_in_fan_out).toBe(true);
      expect(a.numTrainableParameters()).toBe(2 * 4 * (32 + 96) + 2 * 4 * (32 + 128));
      disposeAll([base, adapted]);
      for (const x of [a, b, c]) x.dispose();
    });
    ids.dispose();
  });

  it('applies rslora scaling, rank_pattern and alpha_pattern per module', () => {
    const adapter = LoraAdapter.create(model('llama'), {
      r: 4,
      lora_alpha: 16,
      use_rslora: true,
      target_modules: ['q_proj', 'v_proj'],
      rank_pattern: { 'layers.1.self_attn.q_proj': 2 },
      alpha_pattern: { v_proj: 4 },
    });
    const q0 = adapter.modules.get('model.layers.0.self_attn.q_proj')!;
    const q1 = adapter.modules.get('model.layers.1.self_attn.q_proj')!;
    const v0 = adapter.modules.get('model.layers.0.self_attn.v_proj')!;
    expect([q0.r, q0.scaling]).toEqual([4, 16 / 2]);
    expect([q1.r, q1.loraA.shape[0], q1.scaling]).toEqual([2, 2, 16 / Math.SQRT2]);
    expect([v0.r, v0.scaling]).toEqual([4, 4 / 2]);
    adapter.dispose();
  });

  it('fails fast with a clear message on a bad config', () => {
    const gpt2 = model('gpt2');
    const r0 = thrown(() => LoraAdapter.create(gpt2, { r: 0, target_modules: ['c_attn'] }));
    expect(r0.code).toBe('INVALID_ARGUMENT');
    expect(r0.message).toContain('config.r: must be a positive integer rank, got 0');
    expect(thrown(() => LoraAdapter.create(gpt2, { rank_pattern: { c_attn: -1 } })).message).toContain('config.rank_pattern.c_attn');
    const miss = thrown(() => LoraAdapter.create(gpt2, { target_modules: ['c_attn', 'q_proj'] }));
    expect(miss.code).toBe('INVALID_ARGUMENT');
    expect(miss.message).toContain('"q_proj" matches no linear module of this gpt2 model');
    expect(thrown(() => LoraAdapter.create(gpt2, { lora_dropout: 1 })).message).toContain('lora_dropout: must be in [0, 1)');
    expect(thrown(() => LoraAdapter.create(gpt2, { lora_alhpa: 3 } as never)).message).toContain('unknown field(s): lora_alhpa');
    const dora = thrown(() => LoraAdapter.create(gpt2, { use_dora: true } as never));
    expect(dora.code).toBe('UNIMPLEMENTED');
    expect(dora.message).toContain('DoRA');
    expect(thrown(() => LoraAdapter.create(gpt2, { init_lora_weights: 'pissa' })).message).toContain('init_lora_weights');
    expect(thrown(() => createAdapter(gpt2, { peft_type: 'IA3' } as never)).message).toContain('config.peft_type: unknown method "IA3"');
    const viaType = createAdapter(gpt2, { peft_type: 'HUT', target_modules: ['c_fc'] });
    expect(viaType.peftType).toBe('HUT');
    viaType.dispose();
  });
});

describe('LoRA training', () => {
  it('one step moves only A and B (the base stays untouched) and lowers the loss on a toy batch', async () => {
    const gpt2 = model('gpt2');
    const ids = toyTokens(100);
    const before = snapshot(gpt2);
    await assertNoLeaks(() => {
      const adapter = LoraAdapter.create(gpt2, { r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: ['c_attn', 'c_proj'] }, { seed: 3 });
      const vars = adapter.trainableVariables();
      expect(vars).toHaveLength(12);
      const start = vars.map((v) => values(v));
      const optimizer = tf.train.adam(0.01);
      const lossOf = (training: boolean): tf.Scalar => tf.tidy(() => nextTokenLoss(adapter.forward({ inputIds: ids }, { training }).logits, ids));
      const loss0 = lossOf(false);
      const { value, grads } = tf.variableGrads(() => lossOf(true), vars);
      // B = 0 at init: A gets no gradient yet, B does.
      const first = adapter.modules.get('transformer.h.0.attn.c_attn')!;
      expect(values(grads[first.loraB.name]).some((g) => g !== 0)).toBe(true);
      expect(values(grads[first.loraA.name]).every((g) => g === 0)).toBe(true);
      optimizer.applyGradients(asNamed(grads));
      const loss1 = lossOf(false);
      expect(loss1.dataSync()[0]).toBeLessThan(loss0.dataSync()[0]);
      expect(vars.some((v, i) => values(v).some((x, j) => x !== start[i][j]))).toBe(true);
      disposeAll([loss0, loss1, value, ...Object.values(grads)]);
      optimizer.dispose();
      adapter.dispose();
    });
    expect(unchanged(gpt2, before)).toBe(true);
    ids.dispose();
  });

  it('applies dropout to the branch only in training forwards, reproducibly per seed', () => {
    const gpt2 = model('gpt2');
    const ids = toyTokens(100);
    const run = (seed: number): number[][] => {
      const adapter = LoraAdapter.create(gpt2, { r: 4, lora_dropout: 0.5, init_lora_weights: false, target_modules: ['c_attn'] }, { seed });
      const outs = [adapter.forward({ inputIds: ids }).logits, adapter.forward({ inputIds: ids }, { training: true }).logits, adapter.forward({ inputIds: ids }, { training: true }).logits];
      const vals = outs.map(values);
      disposeAll(outs);
      adapter.dispose();
      return vals;
    };
    const [evalOut, train1, train2] = run(5);
    expect(train1).not.toEqual(evalOut);
    expect(train2).not.toEqual(train1);
    expect(run(5)).toEqual([evalOut, train1, train2]);
    ids.dispose();
  });
});

describe('LoRA merge', () => {
  it('merged weights give the adapted outputs for Conv1D and Linear layouts (property)', () => {
    const ids = toyTokens(100);
    fc.assert(
      fc.property(fc.constantFrom('gpt2', 'llama'), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1000 }), fc.boolean(), (name, r, seed, lora_bias) => {
        const adapter = LoraAdapter.create(model(name), { r, lora_alpha: 2 * r + 1, init_lora_weights: false, target_modules: 'all-linear', lora_bias: lora_bias && name === 'gpt2' }, { seed });
        const merged = adapter.mergeIntoModel();
        const [a, b] = [adapter.forward({ inputIds: ids }).logits, merged.forward({ inputIds: ids }).logits];
        expect(maxAbsDiff(a, b)).toBeLessThan(2e-4);
        disposeAll([a, b]);
        merged.dispose();
        adapter.dispose();
      }),
      { numRuns: 6 },
    );
    ids.dispose();
  });

  it('refuses to merge into a tied output head and lora_bias into a bias-free layer', () => {
    const tied = LoraAdapter.create(model('gpt2'), { target_modules: ['lm_head'] });
    expect(thrown(() => tied.mergeWeights()).message).toContain('lm_head: its weight is tied to transformer.wte.weight');
    tied.dispose();
    const noBias = LoraAdapter.create(model('llama'), { target_modules: ['q_proj'], lora_bias: true });
    expect(thrown(() => noBias.mergeWeights()).message).toContain('the base layer has no bias');
    noBias.dispose();
  });
});

describe('LoRA with modules_to_save, trainable biases and a patch convolution', () => {
  it('trains and saves modules_to_save and lora_only biases under PEFT keys, and loads them back', async () => {
    const bert = model('bert');
    const ref = await readAll(nodePath.join(PEER_ADAPTERS, 'bert-lora/reference.safetensors'));
    const inputs = { inputIds: ref.get('input_ids'), attentionMask: ref.get('attention_mask') };
    await withTempDir(async (tmp) => {
      const adapter = LoraAdapter.create(bert, { r: 2, target_modules: ['query'], modules_to_save: ['classifier'], bias: 'lora_only', init_lora_weights: false }, { seed: 1 });
      expect(adapter.savedParameterKeys).toEqual(['bert.encoder.layer.0.attention.self.query.bias', 'bert.encoder.layer.1.attention.self.query.bias', 'classifier.weight', 'classifier.bias']);
      // Change the saved parameters so a reload that ignored them would show.
      for (const v of adapter.trainableVariables().slice(-4)) assignTo(v, tf.tidy(() => tf.add(v, 0.25)));
      const logits = adapter.forward(inputs).logits;
      await adapter.save(nodePath.join(tmp, 'a'));
      const file = await readAll(nodePath.join(tmp, 'a/adapter_model.safetensors'));
      expect([...file.keys()]).toEqual([
        'base_model.model.bert.encoder.layer.0.attention.self.query.base_layer.bias',
        'base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight',
        'base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight',
        'base_model.model.bert.encoder.layer.1.attention.self.query.base_layer.bias',
        'base_model.model.bert.encoder.layer.1.attention.self.query.lora_A.weight',
        'base_model.model.bert.encoder.layer.1.attention.self.query.lora_B.weight',
        'base_model.model.classifier.bias',
        'base_model.model.classifier.weight',
      ]);
      const config = JSON.parse(await readFile(nodePath.join(tmp, 'a/adapter_config.json'), 'utf8'));
      const fixtureKeys = Object.keys(JSON.parse(await readFile(nodePath.join(PEER_ADAPTERS, 'bert-lora/adapter_config.json'), 'utf8')));
      expect(Object.keys(config)).toEqual(fixtureKeys);
      expect([config.modules_to_save, config.bias, config.target_modules, config.r, config.init_lora_weights]).toEqual([['classifier'], 'lora_only', ['query'], 2, false]);
      const again = await loadAdapter(nodePath.join(tmp, 'a'), bert);
      const reloaded = again.forward(inputs).logits;
      expect(maxAbsDiff(logits, reloaded)).toBe(0);
      const merged = again.mergeIntoModel();
      const mergedLogits = merged.forward(inputs).logits;
      expect(maxAbsDiff(logits, mergedLogits)).toBeLessThan(1e-5);
      const base = bert.forward(inputs).logits;
      expect(maxAbsDiff(base, logits)).toBeGreaterThan(1e-3);
      disposeAll([logits, reloaded, mergedLogits, base, ...file.values()]);
      merged.dispose();
      again.dispose();
      adapter.dispose();
    });
    disposeAll(ref.values());
  });

  it("bias 'all' trains and saves every bias: base_layer.bias for adapted modules, the plain key elsewhere", async () => {
    const adapter = LoraAdapter.create(model('bert'), { r: 2, target_modules: ['query'], bias: 'all' });
    const keys = [...adapter.stateTensors().entries()].map(([k, t]) => (t.dispose(), k));
    expect(keys).toContain('base_model.model.bert.encoder.layer.0.attention.self.query.base_layer.bias');
    expect(keys).toContain('base_model.model.bert.embeddings.LayerNorm.bias');
    expect(keys).toContain('base_model.model.classifier.bias');
    expect(keys).not.toContain('base_model.model.bert.encoder.layer.0.attention.self.query.bias');
    expect(adapter.savedParameterKeys).toHaveLength([...model('bert').weights.keys()].filter((k) => k.endsWith('.bias')).length);
    adapter.dispose();
  });

  it('adapts the ViT patch Conv2d with PEFT 4-D conv tensors, and writes the transformers-5 spelling when asked', async () => {
    const vit = model('vit');
    const ref = await readAll(nodePath.join(PEER_ADAPTERS, 'vit-lora/reference.safetensors'));
    const inputs = { pixelValues: ref.get('pixel_values') };
    await withTempDir(async (tmp) => {
      const adapter = LoraAdapter.create(vit, { r: 3, target_modules: ['projection', 'query'], init_lora_weights: false }, { seed: 2 });
      await adapter.save(nodePath.join(tmp, 'v'), { spelling: 'alternate' });
      const file = await readAll(nodePath.join(tmp, 'v/adapter_model.safetensors'));
      expect(file.get('base_model.model.vit.embeddings.patch_embeddings.projection.lora_A.weight')?.shape).toEqual([3, 3, 4, 4]);
      expect(file.get('base_model.model.vit.embeddings.patch_embeddings.projection.lora_B.weight')?.shape).toEqual([32, 3, 1, 1]);
      expect(file.has('base_model.model.vit.layers.0.attention.q_proj.lora_A.weight')).toBe(true);
      const written = JSON.parse(await readFile(nodePath.join(tmp, 'v/adapter_config.json'), 'utf8'));
      expect(written.target_modules).toEqual(['vit.embeddings.patch_embeddings.projection', 'vit.layers.0.attention.q_proj', 'vit.layers.1.attention.q_proj']);
      const again = await loadAdapter(nodePath.join(tmp, 'v'), vit);
      const [a, b] = [adapter.forward(inputs).logits, again.forward(inputs).logits];
      expect(maxAbsDiff(a, b)).toBe(0);
      const merged = again.mergeIntoModel();
      const m = merged.forward(inputs).logits;
      expect(maxAbsDiff(a, m)).toBeLessThan(1e-4);
      // The PEFT fixture (transformers-5 names) saved in the checkpoint spelling loads to the same logits.
      const peft = await loadAdapter(nodePath.join(PEER_ADAPTERS, 'vit-lora'), vit);
      await peft.save(nodePath.join(tmp, 'classic'), { spelling: 'canonical' });
      const classicConfig = JSON.parse(await readFile(nodePath.join(tmp, 'classic/adapter_config.json'), 'utf8'));
      expect(classicConfig.target_modules).toContain('vit.encoder.layer.1.attention.attention.value');
      const classic = await loadAdapter(nodePath.join(tmp, 'classic'), vit);
      const [p1, p2] = [peft.forward(inputs).logits, classic.forward(inputs).logits];
      expect(maxAbsDiff(p1, p2)).toBe(0);
      disposeAll([a, b, m, p1, p2, ...file.values()]);
      for (const x of [merged, again, adapter, peft, classic]) x.dispose();
    });
    disposeAll(ref.values());
  });
});

describe('loading bad LoRA adapters', () => {
  async function brokenCopy(tmp: string, edit: (tensors: Map<string, tf.Tensor>, config: Record<string, unknown>) => void): Promise<string> {
    const src = nodePath.join(PEER_ADAPTERS, 'gpt2-lora');
    const dir = nodePath.join(tmp, `broken-${Math.random().toString(36).slice(2)}`);
    await mkdir(dir);
    const tensors = await readAll(nodePath.join(src, 'adapter_model.safetensors'));
    const config = JSON.parse(await readFile(nodePath.join(src, 'adapter_config.json'), 'utf8'));
    edit(tensors, config);
    const record = Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: [...t.shape], data: t.dataSync() as Float32Array }]));
    await writeSafetensors(nodePath.join(dir, 'adapter_model.safetensors'), record);
    await writeFile(nodePath.join(dir, 'adapter_config.json'), JSON.stringify(config));
    disposeAll(tensors.values());
    return dir;
  }

  it('names the module on a base/adapter shape mismatch, a module the model lacks, a rank mismatch and unsupported types', async () => {
    const gpt2 = model('gpt2');
    await withTempDir(async (tmp) => {
      const key = 'base_model.model.transformer.h.1.mlp.c_fc.lora_A.weight';
      const wrongShape = await brokenCopy(tmp, (t) => {
        t.get(key)?.dispose();
        t.set(key, tf.zeros([4, 31]));
      });
      const e1 = await rejection(loadAdapter(wrongShape, gpt2));
      expect(e1.code).toBe('INVALID_ARGUMENT');
      expect(e1.message).toContain('transformer.h.1.mlp.c_fc');
      expect(e1.message).toContain('base/adapter shape mismatch');
      const foreign = await brokenCopy(tmp, (t) => t.set('base_model.model.transformer.h.7.attn.c_attn.lora_A.weight', tf.zeros([4, 32])));
      expect((await rejection(loadAdapter(foreign, gpt2))).message).toContain('adapts transformer.h.7.attn.c_attn, which is not a linear module of this gpt2 model');
      const rank = await brokenCopy(tmp, (_t, c) => (c.r = 8));
      expect((await rejection(loadAdapter(rank, gpt2))).message).toContain('has rank 4 but the config gives r = 8');
      const ia3 = await brokenCopy(tmp, (_t, c) => (c.peft_type = 'IA3'));
      expect((await rejection(loadAdapter(ia3, gpt2))).code).toBe('UNIMPLEMENTED');
      const dora = await brokenCopy(tmp, (_t, c) => (c.use_dora = true));
      expect((await rejection(loadAdapter(dora, gpt2))).code).toBe('UNIMPLEMENTED');
      expect((await rejection(loadAdapter(nodePath.join(tmp, 'missing'), gpt2))).code).toBe('NOT_FOUND');
      const onlyConfig = nodePath.join(tmp, 'only-config');
      await mkdir(onlyConfig);
      await copyFile(nodePath.join(PEER_ADAPTERS, 'gpt2-lora/adapter_config.json'), nodePath.join(onlyConfig, 'adapter_config.json'));
      expect((await rejection(loadAdapter(onlyConfig, gpt2))).code).toBe('NOT_FOUND');
    });
  });
});
