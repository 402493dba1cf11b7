import { type Model, loadModel } from '@patchwork/models';
import { assertNoLeaks, tf, withTempDir } from '@patchwork/tensor';
import { readFile, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { HUT_UPDATE_FORM } from '../config/hut-config';
import { loadAdapter } from '../io/load-adapter';
import { PEER_MODELS, disposeAll, maxAbsDiff, readAll, rejection, thrown } from '../testing/fixtures';
import { asNamed, assignTo, nextTokenLoss, snapshot, toyTokens, unchanged } from '../testing/toy';
import { HutAdapter } from './hut-adapter';

const models = new Map<string, Model>();
const model = (name: string): Model => models.get(name) as Model;
beforeAll(async () => {
  for (const name of ['gpt2', 'llama']) models.set(name, await loadModel(nodePath.join(PEER_MODELS, name)));
});
afterAll(() => {
  for (const m of models.values()) m.dispose();
});

describe('HutAdapter', () => {
  it('is the identity at init (V = 0) with U kaiming-uniform over its rank', () => {
    const ids = toyTokens(100);
    const adapter = HutAdapter.create(model('llama'), { r: 4, hut_alpha: 8, target_modules: ['q_proj', 'down_proj'] }, { seed: 1 });
    const layer = adapter.modules.get('model.layers.0.mlp.down_proj')!;
    expect([layer.hutU.shape, layer.hutV.shape, layer.scaling]).toEqual([[32, 4], [4, 72], 2]);
    expect(Array.from(layer.hutU.dataSync()).every((v) => Math.abs(v) <= 0.5)).toBe(true);
    expect(Array.from(layer.hutV.dataSync()).every((v) => v === 0)).toBe(true);
    const [base, adapted] = [model('llama').forward({ inputIds: ids }).logits, adapter.forward({ inputIds: ids }).logits];
    expect(maxAbsDiff(base, adapted)).toBe(0);
    disposeAll([base, adapted, ids]);
    adapter.dispose();
  });

  it.each(['gpt2', 'llama'])('%s: merges to W0 ⊙ (1 + s·UV), equals the unmerged forward, and unmerges back', async (name) => {
    const ids = toyTokens(100);
    await assertNoLeaks(() => {
      const adapter = HutAdapter.create(model(name), { r: 3, hut_alpha: 1.5, target_modules: 'all-linear', init_hut_weights: false }, { seed: 2 });
      const [module, layer] = [...adapter.modules][0];
      const w0 = model(name).weights.get(layer.spec.weightKey) as tf.Tensor;
      const merged = adapter.mergeWeights();
      // By hand on the [out, in] view: element (o, i) scales by 1 + s Σ_k U[o,k] V[k,i].
      const [u, v] = [layer.hutU.arraySync() as number[][], layer.hutV.arraySync() as number[][]];
      const stored = w0.arraySync() as number[][];
      const mergedRows = merged.get(layer.spec.weightKey)?.arraySync() as number[][];
      for (const [o, i] of [
        [0, 0],
        [5, 7],
        [layer.spec.outFeatures - 1, layer.spec.inFeatures - 1],
      ]) {
        const factor = 1 + layer.scaling * u[o].reduce((acc, x, k) => acc + x * v[k][i], 0);
        const [r, c] = layer.spec.layout === 'in_out' ? [i, o] : [o, i];
        expect([module, mergedRows[r][c]]).toEqual([module, expect.closeTo(stored[r][c] * factor, 5)]);
      }
      const mergedModel = adapter.mergeIntoModel();
      const [a, b] = [adapter.forward({ inputIds: ids }).logits, mergedModel.forward({ inputIds: ids }).logits];
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
      const base = model(name).forward({ inputIds: ids }).logits;
      expect(maxAbsDiff(a, base)).toBeGreaterThan(1e-3);
      const back = adapter.unmergeWeights(merged);
      for (const [key, t] of model(name).weights) expect(maxAbsDiff(back.get(key) as tf.Tensor, t)).toBeLessThan(1e-5);
      disposeAll([a, b, base, ...merged.values(), ...back.values()]);
      mergedModel.dispose();
      adapter.dispose();
    });
    ids.dispose();
  });

  it('trains only U and V and lowers the loss', () => {
    const gpt2 = model('gpt2');
    const ids = toyTokens(100);
    const before = snapshot(gpt2);
    const adapter = HutAdapter.create(gpt2, { r: 4, target_modules: ['c_attn', 'c_fc'] }, { seed: 3 });
    const optimizer = tf.train.adam(0.01);
    const loss = (): tf.Scalar => tf.tidy(() => nextTokenLoss(adapter.forward({ inputIds: ids }).logits, ids));
    const l0 = loss();
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(loss, adapter.trainableVariables());
      optimizer.applyGradients(asNamed(grads));
      disposeAll([value, ...Object.values(grads)]);
    }
    const l1 = loss();
    expect(l1.dataSync()[0]).toBeLessThan(l0.dataSync()[0]);
    expect(unchanged(gpt2, before)).toBe(true);
    disposeAll([l0, l1, ids]);
    optimizer.dispose();
    adapter.dispose();
  });

  it('saves peft_type HUT with hut_U / hut_V tensors and its update form, and refuses a different form', async () => {
    const llama = model('llama');
    const ids = toyTokens(100);
    await withTempDir(async (tmp) => {
      const adapter = HutAdapter.create(llama, { r: 2, target_modules: ['v_proj'], init_hut_weights: false }, { seed: 4 });
      await adapter.save(nodePath.join(tmp, 'h'));
      const config = JSON.parse(await readFile(nodePath.join(tmp, 'h/adapter_config.json'), 'utf8'));
      expect([config.peft_type, config.update_form, config.r, config.hut_alpha, config.target_modules]).toEqual(['HUT', HUT_UPDATE_FORM, 2, 8, ['v_proj']]);
      const file = await readAll(nodePath.join(tmp, 'h/adapter_model.safetensors'));
      expect([...file].map(([k, t]) => `${k} ${t.shape.join('x')}`)).toEqual([
        'base_model.model.model.layers.0.self_attn.v_proj.hut_U 16x2',
        'base_model.model.model.layers.0.self_attn.v_proj.hut_V 2x32',
        'base_model.model.model.layers.1.self_attn.v_proj.hut_U 16x2',
        'base_model.model.model.layers.1.self_attn.v_proj.hut_V 2x32',
      ]);
      const again = await loadAdapter(nodePath.join(tmp, 'h'), llama);
      const [a, b] = [adapter.forward({ inputIds: ids }).logits, again.forward({ inputIds: ids }).logits];
      expect(maxAbsDiff(a, b)).toBe(0);
      await writeFile(nodePath.join(tmp, 'h/adapter_config.json'), JSON.stringify({ ...config, update_form: 'W = W0 * exp(U @ V)' }));
      expect((await rejection(loadAdapter(nodePath.join(tmp, 'h'), llama))).message).toContain('update_form');
      disposeAll([a, b, ...file.values()]);
      again.dispose();
      adapter.dispose();
    });
    ids.dispose();
  });

  it('refuses to unmerge where 1 + s·UV vanishes', () => {
    const adapter = HutAdapter.create(model('llama'), { r: 1, hut_alpha: 1, target_modules: ['q_proj'] });
    for (const layer of adapter.modules.values()) {
      assignTo(layer.hutU, tf.onesLike(layer.hutU));
      assignTo(layer.hutV, tf.fill(layer.hutV.shape, -1));
    }
    const merged = adapter.mergeWeights();
    expect(thrown(() => adapter.unmergeWeights(merged)).code).toBe('FAILED_PRECONDITION');
    disposeAll(merged.values());
    adapter.dispose();
  });
});
