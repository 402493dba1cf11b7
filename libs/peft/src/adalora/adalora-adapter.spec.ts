import { type Model, loadModel } from '@patchwork/models';
import { assertNoLeaks, tf, withTempDir } from '@patchwork/tensor';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { loadAdapter } from '../io/load-adapter';
import { PEER_ADAPTERS, PEER_MODELS, disposeAll, maxAbsDiff, readAll, thrown } from '../testing/fixtures';
import { asNamed, assignTo, nextTokenLoss, snapshot, toyTokens, unchanged } from '../testing/toy';
import { AdaLoraAdapter } from './adalora-adapter';
import { orthogonalRegularizer } from './orthogonal';
import { type GradientMap, RankAllocator } from './rank-allocator';

let gpt2: Model;
beforeAll(async () => {
  gpt2 = await loadModel(nodePath.join(PEER_MODELS, 'gpt2'));
});
afterAll(() => gpt2.dispose());

const small = { init_r: 4, target_r: 2, tinit: 2, tfinal: 3, total_step: 10, deltaT: 1, lora_alpha: 8, target_modules: ['c_attn'] };

function matrix(t: tf.Tensor): number[][] {
  return t.arraySync() as number[][];
}

/** ‖M Mᵀ − I‖_F (rowsOuter) or ‖Mᵀ M − I‖_F, on plain arrays. */
function gramDistance(m: number[][], rowsOuter: boolean): number {
  const vecs = rowsOuter ? m : m[0].map((_, j) => m.map((row) => row[j]));
  let sum = 0;
  for (let i = 0; i < vecs.length; i++) {
    for (let j = 0; j < vecs.length; j++) {
      const dot = vecs[i].reduce((acc, v, k) => acc + v * vecs[j][k], 0);
      sum += (dot - (i === j ? 1 : 0)) ** 2;
    }
  }
  return Math.sqrt(sum);
}

/** Deterministic synthetic gradients, distinct per element, for allocator tests. */
function syntheticGrads(adapter: AdaLoraAdapter, seed: number): GradientMap {
  const out: Record<string, tf.Tensor> = {};
  adapter.trainableVariables().forEach((v, i) => (out[v.name] = tf.randomUniform(v.shape, -1, 1, 'float32', seed * 100 + i)));
  return out;
}

describe('AdaLoraAdapter.create', () => {
  it('starts as a no-op with λ = 0 and P, Q ~ N(0, 0.02²), and validates the schedule', () => {
    const ids = toyTokens(100);
    const adapter = AdaLoraAdapter.create(gpt2, small, { seed: 4 });
    const layer = adapter.modules.get('transformer.h.0.attn.c_attn')!;
    expect([layer.loraA.shape, layer.loraE.shape, layer.loraB.shape, layer.rankNum]).toEqual([[4, 32], [4, 1], [96, 4], 4]);
    const std = Math.sqrt(tf.tidy(() => tf.moments(layer.loraB).variance).dataSync()[0]);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    const [base, adapted] = [gpt2.forward({ inputIds: ids }).logits, adapter.forward({ inputIds: ids }).logits];
    expect(maxAbsDiff(base, adapted)).toBe(0);
    disposeAll([base, adapted, ids]);
    adapter.dispose();
    expect(thrown(() => AdaLoraAdapter.create(gpt2, { ...small, total_step: undefined } as never)).message).toContain('total_step: is required');
    expect(thrown(() => AdaLoraAdapter.create(gpt2, { ...small, tinit: 7 })).message).toContain('leaves no budgeting phase');
    expect(thrown(() => AdaLoraAdapter.create(gpt2, { ...small, init_r: 0 })).message).toContain('init_r: must be an integer >= 1');
    expect(thrown(() => AdaLoraAdapter.create(gpt2, { ...small, target_r: 5 })).message).toContain('must not exceed init_r');
    expect(thrown(() => AdaLoraAdapter.create(gpt2, { ...small, beta1: 1 })).message).toContain('beta1: must be in (0, 1)');
  });
});

describe('orthogonalRegularizer', () => {
  it('is the mean of ‖QQᵀ − I‖_F and ‖PᵀP − I‖_F over all matrices', async () => {
    const adapter = AdaLoraAdapter.create(gpt2, small, { seed: 9 });
    await assertNoLeaks(() => {
      const r = orthogonalRegularizer(adapter);
      let expected = 0;
      for (const layer of adapter.modules.values()) expected += gramDistance(matrix(layer.loraA), true) + gramDistance(matrix(layer.loraB), false);
      expected /= 2 * adapter.modules.size;
      expect(r.dataSync()[0]).toBeCloseTo(expected, 4);
      r.dispose();
      // Orthonormal rows of Q and columns of P make it vanish.
      for (const layer of adapter.modules.values()) {
        assignTo(layer.loraA, tf.tidy(() => tf.slice(tf.eye(32), [0, 0], [4, 32])));
        assignTo(layer.loraB, tf.tidy(() => tf.slice(tf.eye(96), [0, 0], [96, 4])));
      }
      const zero = orthogonalRegularizer(adapter);
      expect(zero.dataSync()[0]).toBeLessThan(1e-6);
      const { grads, value } = tf.variableGrads(() => orthogonalRegularizer(adapter), adapter.trainableVariables().filter((v) => v.shape[1] !== 1));
      expect(Object.values(grads).every((g) => g.dataSync().every(Number.isFinite))).toBe(true);
      disposeAll([zero, value, ...Object.values(grads)]);
    });
    adapter.dispose();
  });
});

describe('RankAllocator', () => {
  it('smooths importance and uncertainty exactly as PEFT: Ī = β1 Ī + (1−β1)|θ∇θ|, Ū = β2 Ū + (1−β2)|I − Ī|', () => {
    const adapter = AdaLoraAdapter.create(gpt2, { ...small, init_lora_weights: false, beta1: 0.7, beta2: 0.6 }, { seed: 1 });
    const allocator = new RankAllocator(adapter);
    const g1 = syntheticGrads(adapter, 1);
    const g2 = syntheticGrads(adapter, 2);
    allocator.updateImportance(g1);
    allocator.updateImportance(g2);
    const scores = allocator.tripletScores();
    for (const [module, layer] of adapter.modules) {
      const stat = (v: tf.Variable): number[][] => {
        const theta = matrix(v);
        const [a, b] = [matrix(g1[v.name] as tf.Tensor), matrix(g2[v.name] as tf.Tensor)];
        return theta.map((row, i) =>
          row.map((th, j) => {
            const i1 = Math.abs(th * a[i][j]);
            const i2 = Math.abs(th * b[i][j]);
            const ipt1 = 0.3 * i1;
            const unc1 = 0.4 * Math.abs(i1 - ipt1);
            const ipt2 = 0.7 * ipt1 + 0.3 * i2;
            const unc2 = 0.6 * unc1 + 0.4 * Math.abs(i2 - ipt2);
            return ipt2 * unc2;
          }),
        );
      };
      const [sA, sE, sB] = [stat(layer.loraA), stat(layer.loraE), stat(layer.loraB)];
      const expected = sE.map((e, i) => e[0] + sA[i].reduce((x, y) => x + y, 0) / sA[i].length + sB.reduce((x, row) => x + row[i], 0) / sB.length);
      const got = Array.from(scores.get(module) as Float32Array);
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    }
    disposeAll([...Object.values(g1), ...Object.values(g2)] as tf.Tensor[]);
    allocator.dispose();
    adapter.dispose();
  });

  it('masks λ along the cubic budget, freezes the pattern at T − tfinal and re-applies it afterwards', () => {
    const adapter = AdaLoraAdapter.create(gpt2, { ...small, init_lora_weights: false }, { seed: 2 });
    const allocator = new RankAllocator(adapter);
    expect(allocator.schedule).toEqual({ initBudget: 8, targetBudget: 4, tinit: 2, tfinal: 3, totalStep: 10, deltaT: 1 });
    const kept = (): number => Object.values(adapter.rankPattern() ?? {}).reduce((n, m) => n + m.filter(Boolean).length, 0);
    const zeroLambdas = (): number => [...adapter.modules.values()].reduce((n, l) => n + Array.from(l.loraE.dataSync()).filter((v) => v === 0).length, 0);
    const budgets: number[] = [];
    for (let step = 0; step <= 10; step++) {
      const grads = syntheticGrads(adapter, step + 10);
      const result = allocator.update(step, grads);
      disposeAll(Object.values(grads) as tf.Tensor[]);
      budgets.push(result.budget);
      if (step <= 2) expect([result.masked, result.rankPattern]).toEqual([false, null]);
      else {
        expect(kept()).toBe(result.budget);
        expect(zeroLambdas()).toBe(8 - result.budget);
      }
      // A later optimizer step may regrow pruned λ; only the final phase forces them back to zero.
      if (step === 8) for (const l of adapter.modules.values()) assignTo(l.loraE, tf.onesLike(l.loraE));
    }
    // b(t) = floor(4 (1 - (t-2)/5)^3 + 4) for 2 < t <= 7 (6.05, 4.86, ...), then 4.
    expect(budgets).toEqual([8, 8, 8, 6, 4, 4, 4, 4, 4, 4, 4]);
    expect(zeroLambdas()).toBe(4);
    allocator.dispose();
    adapter.dispose();
  });

  it('trains with the regulariser, masks, and saves a pruned adapter PEFT can load (reloading to the same logits)', async () => {
    const ids = toyTokens(100);
    const before = snapshot(gpt2);
    await withTempDir(async (tmp) => {
      await assertNoLeaks(async () => {
        const adapter = AdaLoraAdapter.create(gpt2, { ...small, orth_reg_weight: 0.1 }, { seed: 5 });
        const allocator = new RankAllocator(adapter);
        const optimizer = tf.train.adam(0.02);
        const total = (): tf.Scalar =>
          tf.tidy(() => tf.add(nextTokenLoss(adapter.forward({ inputIds: ids }, { training: true }).logits, ids), tf.mul(orthogonalRegularizer(adapter), adapter.config.orth_reg_weight)) as tf.Scalar);
        const losses: number[] = [];
        for (let step = 0; step <= 10; step++) {
          const { value, grads } = tf.variableGrads(total, adapter.trainableVariables());
          losses.push(value.dataSync()[0]);
          optimizer.applyGradients(asNamed(grads));
          allocator.update(step, grads);
          disposeAll([value, ...Object.values(grads)]);
        }
        expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
        const logits = adapter.forward({ inputIds: ids }).logits;
        await adapter.save(nodePath.join(tmp, 'ada'));
        const config = JSON.parse(await readFile(nodePath.join(tmp, 'ada/adapter_config.json'), 'utf8'));
        const fixture = JSON.parse(await readFile(nodePath.join(PEER_ADAPTERS, 'gpt2-adalora/adapter_config.json'), 'utf8'));
        expect(Object.keys(config)).toEqual(Object.keys(fixture));
        const pattern = config.rank_pattern as Record<string, boolean[]>;
        expect(Object.keys(pattern)).toEqual(['transformer.h.0.attn.c_attn.lora_E', 'transformer.h.1.attn.c_attn.lora_E']);
        const keptPerLayer = Object.values(pattern).map((m) => m.filter(Boolean).length);
        expect(keptPerLayer.reduce((a, b) => a + b, 0)).toBe(4);
        const file = await readAll(nodePath.join(tmp, 'ada/adapter_model.safetensors'));
        expect(file.get('base_model.model.transformer.h.0.attn.c_attn.lora_A')?.shape).toEqual([keptPerLayer[0], 32]);
        expect(file.get('base_model.model.transformer.h.1.attn.c_attn.lora_B')?.shape).toEqual([96, keptPerLayer[1]]);
        const again = await loadAdapter(nodePath.join(tmp, 'ada'), gpt2);
        const reloaded = again.forward({ inputIds: ids }).logits;
        expect(maxAbsDiff(logits, reloaded)).toBeLessThan(1e-6);
        disposeAll([logits, reloaded, ...file.values()]);
        again.dispose();
        optimizer.dispose();
        allocator.dispose();
        adapter.dispose();
      });
    });
    expect(unchanged(gpt2, before)).toBe(true);
    ids.dispose();
  });

  it('exports and restores its state for resuming', () => {
    const adapter = AdaLoraAdapter.create(gpt2, { ...small, init_lora_weights: false }, { seed: 6 });
    const a = new RankAllocator(adapter);
    const grads = syntheticGrads(adapter, 3);
    a.updateImportance(grads);
    const state = a.state();
    const b = new RankAllocator(adapter);
    b.restore(state);
    expect([...b.tripletScores()]).toEqual([...a.tripletScores()]);
    expect(thrown(() => new RankAllocator(adapter).tripletScores()).code).toBe('FAILED_PRECONDITION');
    disposeAll([...state.tensors.values(), ...(Object.values(grads) as tf.Tensor[])]);
    for (const x of [a, b]) x.dispose();
    adapter.dispose();
  });
});
