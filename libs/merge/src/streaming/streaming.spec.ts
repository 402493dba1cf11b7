import fc from 'fast-check';
import { getMergeMethod } from '../methods/registry';
import { mergeInChunks, withDefaults } from '../testing/chunks';

interface Case {
  method: string;
  model?: Record<string, number>;
  global?: Record<string, number>;
  choices?: Record<string, string>;
  /** slerp takes exactly one model besides the base. */
  models?: number;
}

const CASES: Case[] = [
  { method: 'linear', model: { weight: 0.7 } },
  { method: 'task_arithmetic', model: { weight: 0.6 }, global: { lambda: 1.3, normalize: 1 } },
  { method: 'task_arithmetic', model: { weight: 0.6 }, choices: { semantics: 'peft' } },
  { method: 'ties', model: { weight: 0.8, density: 0.4 } },
  { method: 'ties', model: { weight: 0.8, density: 0.4 }, global: { rescale: 1 }, choices: { majority_sign_method: 'frequency' } },
  { method: 'ties', model: { weight: -0.5, density: 0.3 }, global: { lambda: 0.9 }, choices: { semantics: 'peft' } },
  { method: 'ties', model: { weight: 1.2, density: 0.5 }, choices: { semantics: 'peft', majority_sign_method: 'frequency' } },
  { method: 'ties', model: { weight: 1, density: 0.35 }, choices: { semantics: 'paper' } },
  { method: 'magnitude_prune', model: { weight: 0.9, density: 0.5 }, global: { rescale: 1 } },
  { method: 'magnitude_prune', model: { weight: 0.9, density: 0.25 }, choices: { semantics: 'peft' } },
  { method: 'dare_linear', model: { weight: 0.9, density: 0.5 }, global: { seed: 3 } },
  { method: 'dare_linear', model: { weight: 0.9, density: 0.5 }, choices: { rescale_method: 'inverse' } },
  { method: 'dare_linear', model: { weight: 0.9, density: 0.6 }, choices: { semantics: 'peft' } },
  { method: 'dare_ties', model: { weight: 0.9, density: 0.5 }, global: { normalize: 1 } },
  { method: 'dare_ties', model: { weight: 0.9, density: 0.5 }, choices: { semantics: 'peft' } },
  { method: 'breadcrumbs', model: { weight: 1, density: 0.5, gamma: 0.1 } },
  { method: 'breadcrumbs_ties', model: { weight: 1, density: 0.6, gamma: 0.2 }, global: { rescale: 1 } },
  { method: 'della', model: { weight: 1, density: 0.5, epsilon: 0.2 } },
  { method: 'della_linear', model: { weight: 1, density: 0.6, epsilon: 0.1 }, choices: { rescale_method: 'inverse' } },
  { method: 'slerp', global: { t: 0.3 }, models: 1 },
  { method: 'model_stock', global: { filter_wise: 0 } },
  { method: 'model_stock', global: { filter_wise: 1 } },
  { method: 'pcb', model: { weight: 1.1 }, global: { ratio: 0.3, clip: 0.05 } },
];

/** Few distinct values, so magnitude ties at window edges and exact zeros are common. */
const coarse = fc.integer({ min: -4, max: 4 }).map((x) => x / 2);
const fine = fc.float({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true });
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('streaming merges equal the whole-tensor merge bit for bit, for any chunking', () => {
  it.each(CASES.map((c) => [`${c.method} ${JSON.stringify({ ...c.global, ...c.choices })}`, c] as const))('%s (property)', async (_label, c) => {
    const method = getMergeMethod(c.method);
    const problem = fc
      .record({ rows: fc.integer({ min: 1, max: 6 }), cols: fc.integer({ min: 1, max: 5 }), models: fc.integer({ min: 2, max: 3 }), coarse: fc.boolean() })
      .chain(({ rows, cols, models, coarse: useCoarse }) => {
        const n = rows * cols;
        const values = fc.array(useCoarse ? coarse : fine, { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));
        return fc.record({
          shape: fc.constant<number[]>(cols === 1 ? [rows] : [rows, cols]),
          base: values,
          models: fc.array(values, { minLength: c.models ?? models, maxLength: c.models ?? models }),
          chunkRows: fc.integer({ min: 1, max: rows }),
        });
      });
    await fc.assert(
      fc.asyncProperty(problem, async ({ shape, base, models, chunkRows }) => {
        fc.pre(base.length >= 4);
        const input = withDefaults(method, base, models, models.map(() => ({ ...c.model })), c.global, c.choices, shape);
        const whole = method.merge(input);
        const { out } = await mergeInChunks(method, input, chunkRows);
        expect(bitsOf(out)).toEqual(bitsOf(whole));
      }),
      { numRuns: 30 },
    );
  });

  it('a one-chunk tensor needs no walk for elementwise methods and two for a top-k trim', async () => {
    const base = Float32Array.of(0, 0, 0, 0);
    const models = [Float32Array.of(1, -2, 3, -4), Float32Array.of(-1, 2, 2, 1)];
    const linear = getMergeMethod('linear');
    expect((await mergeInChunks(linear, withDefaults(linear, undefined, models, [{ weight: 1 }, { weight: 1 }]), 4)).walks).toBe(0);
    const ties = getMergeMethod('ties');
    const input = withDefaults(ties, base, models, [{ weight: 1, density: 0.5 }, { weight: 1, density: 0.5 }], {}, { semantics: 'peft' });
    const { out, walks } = await mergeInChunks(ties, input, 1);
    expect(walks).toBe(2);
    // Top-2 by magnitude: model 0 keeps [0, 0, 3, -4], model 1 keeps [0, 2, 2, 0]. Sums elect
    // [+ (0 elects +), +, +, -]; the disjoint means are 0 (none agree), 2, (3 + 2) / 2 and -4.
    expect(Array.from(out)).toEqual([0, 2, 2.5, -4]);
  });

  it('mergekit TIES refuses a density that keeps nothing, naming the tensor, chunked or not', async () => {
    const ties = getMergeMethod('ties');
    const input = withDefaults(ties, Float32Array.of(0, 0, 0), [Float32Array.of(1, 2, 3)], [{ weight: 1, density: 0.2 }]);
    expect(() => ties.merge(input)).toThrow(/keeps no element of layers\.0\.w/);
    await expect(mergeInChunks(ties, input, 1)).rejects.toThrow(/keeps no element of layers\.0\.w/);
  });
});
