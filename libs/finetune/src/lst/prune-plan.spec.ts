import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { useWasmBackend } from '../testing/backend';
import { tinyModel } from '../testing/tiny-models';
import { type BlockSchema, blockSchema } from './block-schema';
import { importanceKeys } from './importance';
import { type ImportanceMap, planPruning, topK } from './prune-plan';
import { roleIndex } from './role-matrix';

useWasmBackend();

/** Importance 1 everywhere, with chosen elements raised. */
function flatImportance(model: Model, keys: string[], raise: (key: string, values: Float32Array) => void): ImportanceMap {
  const map = new Map<string, { values: Float32Array; shape: number[] }>();
  for (const key of keys) {
    const t = model.weights.get(key) as tf.Tensor;
    const values = new Float32Array(t.size).fill(1);
    raise(key, values);
    map.set(key, { values, shape: t.shape });
  }
  return map;
}

describe('topK', () => {
  it('returns the k best indices, ascending, each scoring at least every index left out', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 40 }), fc.nat(), (scores, kRaw) => {
        const k = kRaw % (scores.length + 1);
        const kept = Array.from(topK(scores, k));
        expect(kept.length).toBe(k);
        expect([...kept].sort((a, b) => a - b)).toEqual(kept);
        const minKept = Math.min(...kept.map((i) => scores[i]));
        scores.forEach((s, i) => {
          if (!kept.includes(i)) expect(s).toBeLessThanOrEqual(minKept);
        });
      }),
    );
  });

  it('scores a window of the array when given an offset', () => {
    expect(Array.from(topK([9, 1, 5, 3, 8], 2, 1, 3))).toEqual([2, 3]);
  });
});

describe('planPruning', () => {
  let model: Model;
  let schema: BlockSchema;
  let keys: string[];
  beforeAll(() => {
    model = tinyModel('gpt2', { hidden: 16, heads: 2, inner: 32 });
    schema = blockSchema(model);
    keys = importanceKeys(model, schema);
  });
  afterAll(() => model.dispose());

  it('keeps the residual dimensions, attention channels (per head) and FFN channels that matter most', () => {
    const residual = [3, 12];
    const importance = flatImportance(model, keys, (key, values) => {
      // Raise the wpe column of residual dims 3 and 12, attention channels 1 and 9 (one per head) of block 0, FFN channel 20 of block 1.
      if (key === 'transformer.wpe.weight') for (let row = 0; row < values.length / 16; row++) for (const c of residual) values[row * 16 + c] = 1000;
      const b0 = schema.blocks[0];
      for (const role of [b0.q, b0.k, b0.v]) {
        if (key !== role.spec.weightKey) continue;
        for (const ch of [1, 9]) for (let j = 0; j < 16; j++) values[roleIndex(role, ch, j)] = 10;
      }
      const b1 = schema.blocks[1];
      if (key === b1.fcIn.spec.weightKey) for (let j = 0; j < 16; j++) values[roleIndex(b1.fcIn, 20, j)] = 10;
    });
    const plan = planPruning(schema, importance, 4);
    expect(plan.residual.length).toBe(4);
    for (const c of residual) expect(Array.from(plan.residual)).toContain(c);
    // Two heads of size 8 keep 2 channels each: channel 1 in head 0, channel 9 in head 1.
    expect(plan.attention[0].length).toBe(4);
    expect(Array.from(plan.attention[0]).filter((c) => c < 8).length).toBe(2);
    expect(Array.from(plan.attention[0])).toEqual(expect.arrayContaining([1, 9]));
    expect(plan.ffn[1].length).toBe(8);
    expect(Array.from(plan.ffn[1])).toContain(20);
  });

  it('refuses a reduction factor that does not divide the widths', () => {
    const importance = flatImportance(model, keys, () => undefined);
    expect(() => planPruning(schema, importance, 3)).toThrow(/not divisible by 3/);
  });
});
