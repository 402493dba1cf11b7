import { type Model, loadModel } from '@patchwork/models';
import { initBackend, svd, tf } from '@patchwork/tensor';
import { FAMILIES, maxAbsDiff, peerModelDir, readReference, referenceInputs } from '../testing/fixtures';
import { eckartYoung } from '../testing/spectrum';
import { factorizeModel } from './factorize-model';
import { storedMatrix } from './matrix-view';
import { countParameters } from './plan';
import { pelaRank } from './rank';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe.each(FAMILIES)('factorizeModel on the %s fixture', (name) => {
  let dense: Model;
  let ref: Map<string, tf.Tensor>;

  beforeAll(async () => {
    dense = await loadModel(peerModelDir(name));
    ref = await readReference(name);
  });
  afterAll(() => {
    dense.dispose();
    tf.dispose([...ref.values()]);
  });

  it('at gamma 2: every layer sits at the Eckart–Young optimum and the parameter count follows the formula', async () => {
    const before = tf.memory().numTensors;
    const { lowRank, plan, layers } = await factorizeModel(dense, { gamma: 2 });
    expect(layers.length).toBeGreaterThan(0);
    let expectedAfter = countParameters(dense.weights);
    for (const layer of layers) {
      const spec = dense.linears.get(layer.module);
      if (spec === undefined) throw new Error(`unknown ${layer.module}`);
      const a = spec.inFeatures;
      const b = spec.outFeatures;
      expect(layer.rank).toBe(Math.floor((a * b) / (2 * (a + b))));
      expect(layer.rank).toBe(pelaRank(a, b, 2));
      expectedAfter += layer.rank * (a + b) - a * b;
      // The optimum from an independent full SVD of the dense weight.
      const m = storedMatrix(spec, dense.weights.get(spec.weightKey) as tf.Tensor);
      const [rows, cols] = m.shape;
      const s = Array.from(svd(m.dataSync() as Float32Array, rows, cols).s);
      if (m !== dense.weights.get(spec.weightKey)) m.dispose();
      const optimum = eckartYoung(s, layer.rank);
      expect(Math.abs(layer.relError - optimum) / optimum).toBeLessThan(1e-4);
      expect(Math.abs((layer.optimalRelError as number) - optimum) / optimum).toBeLessThan(1e-6);
    }
    expect(plan.paramsAfter).toBe(expectedAfter);
    expect(lowRank.parameterCount()).toBe(expectedAfter);
    expect(plan.paramsBefore).toBe(countParameters(dense.weights));
    // Default exclusions: heads, pooler and patch embedding stay dense, tied heads are never factored.
    for (const s of plan.skipped) expect(s.module).toMatch(/lm_head|classifier|pooler|patch_embeddings/);
    expect(layers.map((l) => l.module)).not.toContainEqual(expect.stringMatching(/lm_head|classifier|pooler|patch_embeddings/));
    const out = lowRank.forward(referenceInputs(ref));
    expect(out.logits.shape).toEqual((ref.get('logits') as tf.Tensor).shape);
    expect(Number.isFinite(maxAbsDiff(out.logits, ref.get('logits') as tf.Tensor))).toBe(true);
    out.logits.dispose();
    lowRank.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('at full rank (gamma 1/2, nothing excluded) reproduces the transformers logits and hidden states within 1e-4', async () => {
    const before = tf.memory().numTensors;
    const { lowRank, layers, plan } = await factorizeModel(dense, { gamma: 0.5, exclude: [], minOutFeatures: 1 });
    // Everything but a tied head is factored, at rank min(a, b).
    expect(plan.skipped.every((s) => s.reason === 'tied')).toBe(true);
    for (const l of layers) expect(l.rank).toBe(Math.min(l.inFeatures, l.outFeatures));
    const out = lowRank.forward(referenceInputs(ref), { outputHiddenStates: true });
    expect(maxAbsDiff(out.logits, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
    (out.hiddenStates as tf.Tensor[]).forEach((h, k) => expect(maxAbsDiff(h, ref.get(`hidden_states.${k}`) as tf.Tensor)).toBeLessThan(1e-4));
    tf.dispose([out.logits, ...(out.hiddenStates ?? [])]);
    lowRank.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('factorizeModel options', () => {
  let dense: Model;
  beforeAll(async () => {
    dense = await loadModel(peerModelDir('gpt2'));
  });
  afterAll(() => dense.dispose());

  it('meets a target parameter ratio and records the gamma it solved for', async () => {
    const { lowRank, plan } = await factorizeModel(dense, { targetRatio: 0.8 });
    expect(plan.targetRatio).toBe(0.8);
    expect(plan.gamma).toBeGreaterThan(1);
    expect(lowRank.parameterCount() / plan.paramsBefore).toBeLessThanOrEqual(0.8);
    expect(lowRank.settings).toMatchObject({ gamma: plan.gamma, targetRatio: 0.8, svd: 'exact' });
    lowRank.dispose();
  });

  it('factors with the randomized SVD, reporting errors no better than the optimum', async () => {
    const { lowRank, layers } = await factorizeModel(dense, { gamma: 2, svd: 'randomized', measureOptimal: true });
    for (const l of layers) {
      expect(l.relError).toBeGreaterThan((l.optimalRelError as number) * (1 - 1e-4));
      expect(l.relError).toBeLessThan((l.optimalRelError as number) * 1.1);
    }
    expect(lowRank.settings.svd).toBe('randomized');
    lowRank.dispose();
  });

  it('honours exclusions by glob, reports progress, and refuses impossible requests', async () => {
    const seen: string[] = [];
    const { lowRank, plan } = await factorizeModel(dense, { gamma: 2, exclude: ['lm_head', '*.mlp.*'], onLayer: (p) => seen.push(`${p.index}/${p.total} ${p.module}`) });
    expect(plan.layers.map((l) => l.module)).toEqual(['transformer.h.0.attn.c_attn', 'transformer.h.0.attn.c_proj', 'transformer.h.1.attn.c_attn', 'transformer.h.1.attn.c_proj']);
    expect(seen).toEqual(plan.layers.map((l, i) => `${i + 1}/4 ${l.module}`));
    lowRank.dispose();
    await expect(factorizeModel(dense, { gamma: 2, exclude: ['*'] })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(factorizeModel(dense, { gamma: 2, targetRatio: 0.5 })).rejects.toThrow(/exactly one of gamma and targetRatio/);
    await expect(factorizeModel(dense, {})).rejects.toThrow(/exactly one of gamma and targetRatio/);
    await expect(factorizeModel(dense, { gamma: -1 })).rejects.toThrow(/gamma: must be a finite number > 0/);
    await expect(factorizeModel(dense, { gamma: 2, exclude: [''] })).rejects.toThrow(/exclude\[0\]/);
  });

  it('stops with CANCELLED when the signal aborts, leaking nothing', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const p = factorizeModel(dense, { gamma: 2, signal: controller.signal, onLayer: (e) => e.index === 2 && controller.abort() });
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(tf.memory().numTensors).toBe(before);
  });
});
