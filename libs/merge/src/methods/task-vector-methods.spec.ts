import fc from 'fast-check';
import { magnitudeSparsify } from '../math/sparsify';
import { breadcrumbs } from './breadcrumbs';
import { breadcrumbsTies } from './breadcrumbs-ties';
import { dareLinear } from './dare-linear';
import { dareTies } from './dare-ties';
import { della } from './della';
import { dellaLinear } from './della-linear';
import { magnitudePrune } from './magnitude-prune';
import { MergeMethod, TensorMergeInput } from './merge-method';
import { taskArithmetic } from './task-arithmetic';
import { ties } from './ties';

/** The merges here cost far more than plain arithmetic; 40 runs per property keep the file fast. */
const RUNS = { numRuns: 40 };
const vec = (n: number) => fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true, min: -10, max: 10 });

/** Parameters with each method's defaults filled in, as the planner resolves them. */
function input(method: MergeMethod, base: Float32Array, models: Float32Array[], model: Record<string, number>[], global: Record<string, number> = {}, choices: Record<string, string> = {}): TensorMergeInput {
  const defaults = (scope: 'model' | 'global') =>
    Object.fromEntries(method.parameters.filter((p) => p.scope === scope && p.type !== 'choice' && p.default !== undefined).map((p) => [p.name, p.default as number]));
  return {
    base,
    models,
    modelParameters: model.map((p) => ({ ...defaults('model'), ...p })),
    parameters: { ...defaults('global'), ...global },
    choices,
    name: 'layers.0.w',
    shape: [base.length],
  };
}

const close = (a: Float32Array, b: ArrayLike<number>, tol = 1e-5) => a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]))));

describe('ties (mergekit semantics)', () => {
  it('with one model is the base plus the trimmed task vector, whatever the weight (property)', () => {
    fc.assert(
      fc.property(vec(24), vec(24), fc.double({ min: 0.1, max: 1, noNaN: true }), fc.double({ min: 0.1, max: 5, noNaN: true }), (base, model, density, weight) => {
        fc.pre(Math.trunc(density * 24) > 0);
        const out = ties.merge(input(ties, base, [model], [{ weight, density }]));
        const delta = model.map((x, j) => x - base[j]);
        const trimmed = magnitudeSparsify(delta, density, false);
        close(out, Array.from(base, (b, j) => b + trimmed[j]));
      }),
      RUNS,
    );
  });

  it('elects the sign of the weighted sum and averages the agreeing weighted deltas over their weights', () => {
    const base = Float32Array.of(0, 0, 0);
    const a = Float32Array.of(1, -1, 2);
    const b = Float32Array.of(-3, 2, 0);
    const out = ties.merge(input(ties, base, [a, b], [{ weight: 1 }, { weight: 0.5 }]));
    // element 0: 1 - 1.5 < 0 -> only b agrees: (-1.5) / 0.5 = -3; element 1: -1 + 1 = 0 elects +: b: 1 / 0.5 = 2;
    // element 2: only a is non-zero: 2 / 1 = 2.
    expect(Array.from(out)).toEqual([-3, 2, 2]);
    const count = ties.merge(input(ties, base, [a, b, Float32Array.of(-1, -1, -1)], [{ weight: 1 }, { weight: 1 }, { weight: 1 }], {}, { majority_sign_method: 'frequency' }));
    expect(Array.from(count)).toEqual([-2, -1, 2]);
  });

  it('refuses a density that keeps nothing, where semantics peft zeroes the tensor', () => {
    const base = new Float32Array(4);
    const model = Float32Array.of(1, 2, 3, 4);
    expect(() => ties.merge(input(ties, base, [model], [{ weight: 1, density: 0.1 }]))).toThrow(/keeps no element of layers\.0\.w/);
    expect(Array.from(ties.merge(input(ties, base, [model], [{ weight: 1, density: 0.1 }], {}, { semantics: 'peft' })))).toEqual([0, 0, 0, 0]);
  });

  it('semantics paper on a lone tensor keeps threshold ties and fills zero elections with the majority', () => {
    const base = new Float32Array(6);
    const a = Float32Array.of(3, 3, 1, -1, 0.5, 3);
    const b = Float32Array.of(-3, 2, 0, 0, -1, -2);
    const out = ties.merge(input(ties, base, [a, b], [{ weight: 1, density: 0.5 }, { weight: 1, density: 0.5 }], {}, { semantics: 'paper' }));
    // Threshold = 3rd smallest magnitude = 1 for both: a keeps both of its 1-magnitude entries (5 of 6), b drops its zeros.
    // Sums (0, 5, 1, -1, -1, 1): element 0 takes the majority of the signs (+), so only a's 3 agrees.
    expect(Array.from(out)).toEqual([3, 2.5, 1, -1, -1, 3]);
  });
});

describe('dare', () => {
  it('with density 1 is task arithmetic (property)', () => {
    fc.assert(
      fc.property(vec(16), vec(16), vec(16), fc.double({ min: -2, max: 2, noNaN: true }), (base, a, b, w) => {
        const params = [{ weight: w }, { weight: 0.7 }];
        const expected = taskArithmetic.merge({ base, models: [a, b], modelParameters: params, parameters: { lambda: 1.3, normalize: 0 } });
        close(dareLinear.merge(input(dareLinear, base, [a, b], params, { lambda: 1.3 })), expected, 1e-4);
        close(dareLinear.merge(input(dareLinear, base, [a, b], params, { lambda: 1.3 }, { semantics: 'peft' })), expected, 1e-4);
      }),
      RUNS,
    );
  });

  it('is seeded per tensor and model; inverse rescale divides by density, l1 keeps the L1 norm', () => {
    const n = 4000;
    const base = new Float32Array(n);
    const model = Float32Array.from({ length: n }, (_, j) => 1 + (j % 7));
    const run = (global: Record<string, number>, choices: Record<string, string> = {}) => dareLinear.merge(input(dareLinear, base, [model], [{ weight: 1, density: 0.3 }], global, choices));
    const a = run({ seed: 1 });
    expect(Array.from(run({ seed: 1 }))).toEqual(Array.from(a));
    expect(Array.from(run({ seed: 2 }))).not.toEqual(Array.from(a));
    const kept = a.filter((x) => x !== 0).length / n;
    expect(kept).toBeGreaterThan(0.27);
    expect(kept).toBeLessThan(0.33);
    const l1 = (x: Float32Array) => x.reduce((s, v) => s + Math.abs(v), 0);
    expect(Math.abs(l1(a) - l1(model)) / l1(model)).toBeLessThan(1e-5);
    const inverse = run({ seed: 1 }, { rescale_method: 'inverse' });
    inverse.forEach((v, j) => expect(v === 0 || Math.abs(v - model[j] / 0.3) < 1e-4).toBe(true));
    const plain = run({ seed: 1, rescale: 0 });
    plain.forEach((v, j) => expect(v === 0 || v === model[j]).toBe(true));
  });

  it('dare_ties with density 1 is mergekit ties without trimming (normalize on)', () => {
    fc.assert(
      fc.property(vec(12), vec(12), vec(12), (base, a, b) => {
        const params = [{ weight: 1 }, { weight: 0.5 }];
        close(dareTies.merge(input(dareTies, base, [a, b], params, { normalize: 1 })), ties.merge(input(ties, base, [a, b], params)));
      }),
      RUNS,
    );
  });
});

describe('breadcrumbs', () => {
  it('keeps int(density·n) elements below the top gamma·n magnitudes', () => {
    const base = new Float32Array(100);
    const model = Float32Array.from({ length: 100 }, (_, j) => (j % 2 ? -1 : 1) * (j + 1));
    const out = breadcrumbs.merge(input(breadcrumbs, base, [model], [{ weight: 1, density: 0.3, gamma: 0.05 }]));
    const kept = Array.from(out.keys()).filter((j) => out[j] !== 0);
    // Magnitudes 1..100: drop 96..100 (top 5%), keep the next 30: 66..95.
    expect(kept.map((j) => Math.abs(model[j])).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => 66 + i));
  });

  it('with gamma 0 keeps the top of the window (mergekit\'s [n_bot:-0] slice would drop everything)', () => {
    const base = new Float32Array(10);
    const model = Float32Array.from({ length: 10 }, (_, j) => j + 1);
    const out = breadcrumbs.merge(input(breadcrumbs, base, [model], [{ weight: 1, density: 0.2, gamma: 0 }]));
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 9, 10]);
  });

  it('breadcrumbs_ties with density 1 and gamma 0 equals ties without trimming or normalize', () => {
    fc.assert(
      fc.property(vec(10), vec(10), vec(10), (base, a, b) => {
        const params = [{ weight: 1, density: 1, gamma: 0 }, { weight: 2, density: 1, gamma: 0 }];
        close(
          breadcrumbsTies.merge(input(breadcrumbsTies, base, [a, b], params)),
          ties.merge(input(ties, base, [a, b], params.map(({ weight }) => ({ weight })), { normalize: 0 })),
        );
      }),
      RUNS,
    );
  });
});

describe('della', () => {
  it('keeps large magnitudes more often than small ones, at the density on average, per row', () => {
    const rows = 200;
    const cols = 50;
    const base = new Float32Array(rows * cols);
    const model = Float32Array.from({ length: rows * cols }, (_, j) => (j % cols) + 1);
    const i = input(dellaLinear, base, [model], [{ weight: 1, density: 0.5, epsilon: 0.4 }], { rescale: 0 });
    const out = dellaLinear.merge({ ...i, shape: [rows, cols] });
    const keptAt = (col: number) => Array.from({ length: rows }, (_, r) => out[r * cols + col] !== 0).filter(Boolean).length / rows;
    expect(keptAt(0)).toBeLessThan(0.25); // p = 0.1
    expect(keptAt(cols - 1)).toBeGreaterThan(0.75); // p = 0.9
    const total = out.filter((x) => x !== 0).length / out.length;
    expect(Math.abs(total - 0.5)).toBeLessThan(0.03);
  });

  it('with density 1 is ties without trimming; refuses keep probabilities outside [0, 1]', () => {
    fc.assert(
      fc.property(vec(8), vec(8), vec(8), (base, a, b) => {
        const params = [{ weight: 1 }, { weight: 3 }];
        close(della.merge(input(della, base, [a, b], params)), ties.merge(input(ties, base, [a, b], params)));
      }),
      RUNS,
    );
    expect(della.validate?.([{ weight: 1, density: 0.1, epsilon: 0.15 }], {})).toHaveLength(1);
    expect(della.validate?.([{ weight: 1, density: 0.5, epsilon: 0.15 }], {})).toHaveLength(0);
  });
});

describe('magnitude_prune', () => {
  it('is the weighted sum of the trimmed task vectors, the same under both semantics for non-zero k', () => {
    fc.assert(
      fc.property(vec(20), vec(20), vec(20), (base, a, b) => {
        const params = [{ weight: 0.5, density: 0.5 }, { weight: 1.5, density: 0.25 }];
        const mergekit = magnitudePrune.merge(input(magnitudePrune, base, [a, b], params, { lambda: 2 }));
        const peft = magnitudePrune.merge(input(magnitudePrune, base, [a, b], params, { lambda: 2 }, { semantics: 'peft' }));
        close(mergekit, peft, 1e-4);
      }),
      RUNS,
    );
  });

  it('refuses mergekit-only parameters under semantics peft', () => {
    expect(magnitudePrune.validate?.([], {}, { choices: { semantics: 'peft' }, given: new Set(['normalize', 'weight']), hasBase: true })).toEqual([
      'normalize has no meaning under semantics: peft',
    ]);
  });
});
