import { type LinearPatch, type Model, loadModel } from '@patchwork/models';
import { Checkpoint, SafetensorsFile, initBackend, tf, withTempDir, writeSafetensors } from '@patchwork/tensor';
import { readFile, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { factorizeModel } from '../factorize/factorize-model';
import { FAMILIES, maxAbsDiff, peerModelDir, readReference, referenceInputs } from '../testing/fixtures';
import { lowRankForwardFile } from './forward-file';
import { isLowRankModelDir, loadLowRankModel } from './load';
import { LOW_RANK_CONFIG_KEY } from './low-rank-config';
import { LowRankModel } from './low-rank-model';
import { saveLowRankModel } from './save';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe.each(FAMILIES)('a low-rank %s model on disk', (name) => {
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

  it('saves in the documented layout, loads back to the same outputs, and forwards from files', async () => {
    await withTempDir(async (tmp) => {
      const before = tf.memory().numTensors;
      // ViT's patch convolution included, to exercise a 4-D weight.
      const { lowRank } = await factorizeModel(dense, { gamma: 2, exclude: ['lm_head', 'classifier*', '*.pooler.dense'] });
      const out = nodePath.join(tmp, 'low-rank');
      const { files } = await saveLowRankModel(lowRank, out, { copyFilesFrom: peerModelDir(name) });
      expect(files.map((f) => nodePath.basename(f))).toEqual(['model.safetensors', 'config.json']);

      const config = JSON.parse(await readFile(nodePath.join(out, 'config.json'), 'utf8'));
      expect(config.model_type).toBe(dense.modelType);
      expect(config[LOW_RANK_CONFIG_KEY]).toMatchObject({ format_version: 1, method: 'pela', gamma: 2, target_ratio: null, svd: 'exact', distillation: null });
      expect(config[LOW_RANK_CONFIG_KEY].modules).toEqual(Object.fromEntries([...lowRank.factors].map(([m, f]) => [m, f.rank])));
      expect(await isLowRankModelDir(out)).toBe(true);
      expect(await isLowRankModelDir(peerModelDir(name))).toBe(false);

      // weight ≈ (weight_u @ weight_v.reshape(r, -1)).reshape(weight.shape), and no dense copy is stored.
      const file = await SafetensorsFile.open(nodePath.join(out, 'model.safetensors'));
      try {
        for (const [module, f] of lowRank.factors) {
          expect(file.has(`${module}.weight`)).toBe(false);
          const u = await file.readTensor(`${module}.weight_u`);
          const v = await file.readTensor(`${module}.weight_v`);
          const w = dense.weights.get(f.spec.weightKey) as tf.Tensor;
          expect(u.shape).toEqual([w.shape[0], f.rank]);
          expect(v.shape).toEqual([f.rank, ...w.shape.slice(1)]);
          const product = tf.tidy(() => tf.matMul(u, tf.reshape(v, [f.rank, -1])).reshape(w.shape));
          const direct = tf.tidy(() => tf.matMul(f.down, f.up));
          const kernel = tf.tidy(() => (f.spec.layout === 'in_out' ? product.clone() : tf.transpose(product.reshape([f.spec.outFeatures, f.spec.inFeatures]))));
          expect(maxAbsDiff(kernel, direct)).toBeLessThan(1e-6);
          tf.dispose([u, v, product, direct, kernel]);
        }
      } finally {
        await file.close();
      }

      const loaded = await loadLowRankModel(out);
      expect(loaded.parameterCount()).toBe(lowRank.parameterCount());
      const a = lowRank.forward(referenceInputs(ref), { outputHiddenStates: true });
      const b = loaded.forward(referenceInputs(ref), { outputHiddenStates: true });
      expect(maxAbsDiff(a.logits, b.logits)).toBe(0);
      expect((b.hiddenStates as tf.Tensor[]).length).toBe(dense.numLayers + 1);

      const inputs = nodePath.join(tmp, 'inputs.safetensors');
      const tensors = Object.fromEntries(
        [...ref].filter(([k]) => ['input_ids', 'attention_mask', 'pixel_values'].includes(k)).map(([k, t]) => [k, { dtype: t.dtype === 'int32' ? ('I64' as const) : ('F32' as const), shape: [...t.shape], data: t.dtype === 'int32' ? BigInt64Array.from(t.dataSync(), (x) => BigInt(x)) : (t.dataSync() as Float32Array) }]),
      );
      await writeSafetensors(inputs, tensors);
      const result = await lowRankForwardFile({ modelDir: out, inputsPath: inputs, outPath: nodePath.join(tmp, 'out.safetensors'), outputHiddenStates: true });
      expect(result).toMatchObject({ modelType: dense.modelType, logitsShape: a.logits.shape, hiddenStates: dense.numLayers + 1, parameters: lowRank.parameterCount() });
      const written = await Checkpoint.open(nodePath.join(tmp, 'out.safetensors'));
      const logits = await written.readTensor('logits');
      await written.close();
      expect(maxAbsDiff(logits, a.logits)).toBe(0);

      tf.dispose([a.logits, b.logits, ...(a.hiddenStates ?? []), ...(b.hiddenStates ?? []), logits]);
      loaded.dispose();
      lowRank.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});

describe('LowRankModel', () => {
  let dense: Model;
  let ref: Map<string, tf.Tensor>;
  let lowRank: LowRankModel;

  beforeAll(async () => {
    dense = await loadModel(peerModelDir('gpt2'));
    ref = await readReference('gpt2');
    lowRank = (await factorizeModel(dense, { gamma: 2 })).lowRank;
  });
  afterAll(() => {
    lowRank.dispose();
    dense.dispose();
    tf.dispose([...ref.values()]);
  });

  it('holds no dense weight for a factored module and computes only the factor products', async () => {
    for (const [module, f] of lowRank.factors) {
      expect(lowRank.model.weights.has(f.spec.weightKey)).toBe(false);
      expect(lowRank.isFactoredWeight(f.spec.weightKey)).toBe(true);
      expect([...lowRank.model.substitutes.keys()]).toContain(module);
    }
    // Parameters held = tensors held: a factored layer keeps no dense weight behind the count.
    const held = [...lowRank.model.weights.values(), ...[...lowRank.factors.values()].flatMap((f) => [f.down, f.up])];
    expect(held.reduce((n, t) => n + t.size, 0)).toBe(lowRank.parameterCount());
    // Every matMul of the forward pass, by operand shapes: the dense model multiplies by each
    // [in, out] kernel; the low-rank one never does (only [in, r] and [r, out]).
    const denseShapes = (m: { linears: ReadonlyMap<string, { inFeatures: number; outFeatures: number }> }, modules: Iterable<string>) =>
      new Set([...modules].flatMap((mod) => {
        const spec = m.linears.get(mod) as { inFeatures: number; outFeatures: number };
        return [`${spec.inFeatures}x${spec.outFeatures}`, `${spec.outFeatures}x${spec.inFeatures}`];
      }));
    const matMulOperands = async (run: () => tf.Tensor): Promise<string[]> => {
      const info = await tf.profile(run);
      tf.dispose(info.result as tf.Tensor);
      return info.kernels.filter((k) => /MatMul/.test(k.name)).flatMap((k) => k.inputShapes.map((shape) => (shape ?? []).slice(-2).join('x')));
    };
    const factoredDense = denseShapes(dense, lowRank.factors.keys());
    const inDense = await matMulOperands(() => dense.forward(referenceInputs(ref)).logits);
    const inLowRank = await matMulOperands(() => lowRank.model.forward(referenceInputs(ref)).logits);
    expect(inDense.filter((s) => factoredDense.has(s)).length).toBeGreaterThanOrEqual(lowRank.factors.size);
    expect(inLowRank.filter((s) => factoredDense.has(s))).toEqual([]);
    expect(inLowRank.filter((s) => [...lowRank.factors.values()].some((f) => s === `${f.spec.inFeatures}x${f.rank}`)).length).toBe(lowRank.factors.size);
    const bare = lowRank.model.forward(referenceInputs(ref));
    const viaWrapper = lowRank.forward(referenceInputs(ref));
    expect(maxAbsDiff(bare.logits, viaWrapper.logits)).toBe(0);
    expect(bare.logits.dataSync().every(Number.isFinite)).toBe(true);
    tf.dispose([bare.logits, viaWrapper.logits]);
  });

  it('applies further patches after the low-rank ones, and refuses unknown modules', () => {
    const module = 'transformer.h.0.mlp.c_fc';
    const seen: number[] = [];
    const shift: LinearPatch = (call, out) => {
      seen.push(out.shape[out.rank - 1]);
      return tf.add(out, 1);
    };
    const plain = lowRank.forward(referenceInputs(ref));
    const patched = lowRank.forward(referenceInputs(ref), { patches: new Map([[module, [shift]]]) });
    expect(seen).toEqual([128]);
    expect(maxAbsDiff(plain.logits, patched.logits)).toBeGreaterThan(1e-3);
    // A zero-effect patch composes to exactly the plain output.
    const noop = lowRank.forward(referenceInputs(ref), { patches: new Map([[module, [(_c, out) => out]]]) });
    expect(maxAbsDiff(plain.logits, noop.logits)).toBe(0);
    tf.dispose([plain.logits, patched.logits, noop.logits]);
    expect(() => lowRank.forward(referenceInputs(ref), { patches: new Map([['nope', [shift]]]) })).toThrow(/does not have: nope/);
  });

  it('makes trainable copies that share nothing observable with the original', () => {
    const before = tf.memory().numTensors;
    const trainable = lowRank.withVariables('factors');
    const vars = trainable.variables();
    expect(vars.size).toBe(2 * lowRank.factors.size);
    expect([...vars.keys()][0]).toBe('transformer.h.0.attn.c_attn.down');
    const name = 'transformer.h.0.attn.c_attn.up';
    const v = vars.get(name) as tf.Variable;
    const doubled = tf.tidy(() => tf.mul(v, 2));
    v.assign(doubled);
    doubled.dispose();
    const original = lowRank.factors.get('transformer.h.0.attn.c_attn')?.up as tf.Tensor;
    const expected = tf.tidy(() => tf.mul(original, 2));
    expect(maxAbsDiff(expected, v)).toBe(0);
    expected.dispose();
    const all = lowRank.withVariables('all');
    expect(all.variables().has('transformer.wte.weight')).toBe(true);
    expect(all.variables().has('transformer.h.0.attn.c_attn.weight')).toBe(false);
    all.dispose();
    trainable.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('assemble validates the factors against the architecture and frees everything it was given on failure', () => {
    const before = tf.memory().numTensors;
    const params = () => new Map([...lowRank.weights].map(([k, t]) => [k, tf.clone(t)]));
    const pairs = (bad?: string) =>
      new Map(
        [...lowRank.factors].map(([m]) => {
          const { u, v } = lowRank.storedFactors(m);
          if (m !== bad) return [m, { u, v }];
          const wrong = tf.zeros([u.shape[0], 3]);
          u.dispose();
          return [m, { u: wrong, v }];
        }),
      );
    const settings = lowRank.settings;
    expect(() => LowRankModel.assemble(lowRank.config, params(), pairs('transformer.h.1.mlp.c_proj'), settings)).toThrow(/transformer\.h\.1\.mlp\.c_proj/);
    expect(() => LowRankModel.assemble(lowRank.config, params(), new Map(), settings)).toThrow(/at least one factored module/);
    expect(() => LowRankModel.assemble(lowRank.config, params(), pairs(), { ...settings, gamma: -2 })).toThrow(/settings: .*gamma: must be a finite number > 0/);
    const withDense = params();
    withDense.set('transformer.h.0.attn.c_attn.weight', tf.zeros([32, 96]));
    expect(() => LowRankModel.assemble(lowRank.config, withDense, pairs(), settings)).toThrow(/c_attn\.weight: belongs to a substituted module/);
    const renamed = pairs();
    const first = [...renamed.keys()][0];
    renamed.set('transformer.h.9.attn.c_attn', renamed.get(first) as never);
    renamed.delete(first);
    expect(() => LowRankModel.assemble(lowRank.config, params(), renamed, settings)).toThrow(/factors\.transformer\.h\.9\.attn\.c_attn: is not a linear module/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('tells a dense loader what the directory is, and rejects a corrupt factorization record', async () => {
    await withTempDir(async (tmp) => {
      const out = nodePath.join(tmp, 'm');
      await saveLowRankModel(lowRank, out);
      await expect(loadModel(out)).rejects.toThrow(/lacks \d+ tensor\(s\)/);
      await expect(loadLowRankModel(peerModelDir('gpt2'))).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
      await expect(saveLowRankModel(lowRank, out)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      const configPath = nodePath.join(out, 'config.json');
      const config = JSON.parse(await readFile(configPath, 'utf8'));
      config[LOW_RANK_CONFIG_KEY].modules['transformer.h.0.attn.c_attn'] += 1;
      await writeFile(configPath, JSON.stringify(config));
      await expect(loadLowRankModel(out)).rejects.toThrow(/transformer\.h\.0\.attn\.c_attn\.weight_u has shape \[32, 12\], expected \[rows, 13\]/);
      config[LOW_RANK_CONFIG_KEY].modules = { 'transformer.h.0.attn.c_attn': 'ten' };
      config[LOW_RANK_CONFIG_KEY].svd = 'magic';
      await writeFile(configPath, JSON.stringify(config));
      await expect(loadLowRankModel(out)).rejects.toThrow(/patchwork_low_rank\.svd: must be one of exact, randomized.*modules\.transformer\.h\.0\.attn\.c_attn: must be a positive integer rank/);
    });
  });
});
