import fc from 'fast-check';
import { linear } from './linear';
import { taskArithmetic } from './task-arithmetic';

const vec = (n: number) => fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 });

describe('linear', () => {
  it('computes the normalized weighted sum', () => {
    const out = linear.merge({ models: [Float32Array.of(1, 2), Float32Array.of(3, 6)], modelParameters: [{ weight: 1 }, { weight: 3 }], parameters: { normalize: 1 } });
    expect(Array.from(out)).toEqual([2.5, 5]);
  });

  it('without normalize is the plain weighted sum', () => {
    const out = linear.merge({ models: [Float32Array.of(1, 2), Float32Array.of(3, 6)], modelParameters: [{ weight: 1 }, { weight: 3 }], parameters: { normalize: 0 } });
    expect(Array.from(out)).toEqual([10, 20]);
  });

  it('averaging copies of one model gives that model back (property)', () => {
    fc.assert(
      fc.property(vec(8), fc.array(fc.double({ min: 0.1, max: 10, noNaN: true }), { minLength: 1, maxLength: 4 }), (x, weights) => {
        const out = linear.merge({ models: weights.map(() => x), modelParameters: weights.map((weight) => ({ weight })), parameters: { normalize: 1 } });
        out.forEach((v, i) => expect(v).toBeCloseTo(x[i], Math.abs(x[i]) > 100 ? 2 : 4));
      }),
    );
  });

  it('refuses weights that sum to zero under normalize', () => {
    expect(linear.validate?.([{ weight: 1 }, { weight: -1 }], { normalize: 1 })).toHaveLength(1);
    expect(linear.validate?.([{ weight: 1 }, { weight: -1 }], { normalize: 0 })).toHaveLength(0);
  });
});

describe('task_arithmetic', () => {
  it('adds the weighted task vectors times lambda to the base', () => {
    const base = Float32Array.of(1, 1);
    const out = taskArithmetic.merge({ base, models: [Float32Array.of(2, 1), Float32Array.of(1, 3)], modelParameters: [{ weight: 1 }, { weight: 0.5 }], parameters: { lambda: 2, normalize: 0 } });
    expect(Array.from(out)).toEqual([3, 3]);
  });

  it('lambda 0 returns the base, and one model at weight 1 returns that model (property)', () => {
    fc.assert(
      fc.property(vec(6), vec(6), (base, model) => {
        const zero = taskArithmetic.merge({ base, models: [model], modelParameters: [{ weight: 1 }], parameters: { lambda: 0, normalize: 0 } });
        zero.forEach((v, i) => expect(v === base[i]).toBe(true)); // -0 and 0 are equal here
        const same = taskArithmetic.merge({ base, models: [model], modelParameters: [{ weight: 1 }], parameters: { lambda: 1, normalize: 0 } });
        same.forEach((v, i) => expect(Math.abs(v - model[i])).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(model[i]), Math.abs(base[i]))));
      }),
    );
  });
});
