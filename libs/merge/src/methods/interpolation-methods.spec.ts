import fc from 'fast-check';
import { COLINEAR_THRESHOLD, slerp as slerpVectors } from '../math/slerp';
import { modelStock } from './model-stock';
import { slerp } from './slerp';

const vec = (n: number) => fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true, min: -10, max: 10 });
const norm = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

describe('slerp', () => {
  it('returns the endpoints exactly at t = 0 and t = 1 (property)', () => {
    fc.assert(
      fc.property(vec(9), vec(9), (a, b) => {
        expect(Array.from(slerpVectors(0, a, b))).toEqual(Array.from(a));
        expect(Array.from(slerpVectors(1, a, b))).toEqual(Array.from(b));
      }),
    );
  });

  it('follows the great circle between equal-norm vectors (norm preserved, angle split by t)', () => {
    fc.assert(
      fc.property(vec(6), vec(6), fc.double({ min: 0.05, max: 0.95, noNaN: true }), (a, b, t) => {
        const na = norm(a);
        const nb = norm(b);
        fc.pre(na > 1e-2 && nb > 1e-2);
        const u = a.map((x) => x / na);
        const v = b.map((x) => x / nb);
        const cos = u.reduce((s, x, j) => s + x * v[j], 0);
        fc.pre(Math.abs(cos) < 0.99);
        const out = slerpVectors(t, u, v);
        expect(Math.abs(norm(out) - 1)).toBeLessThan(1e-5);
        const theta = Math.acos(Math.max(-1, Math.min(1, cos)));
        const angleToU = Math.acos(Math.max(-1, Math.min(1, out.reduce((s, x, j) => s + x * u[j], 0) / norm(out))));
        expect(Math.abs(angleToU - t * theta)).toBeLessThan(1e-3);
      }),
    );
  });

  it('falls back to lerp for nearly colinear vectors, anti-parallel ones included', () => {
    const a = Float32Array.of(1, 2, 3);
    const b = Float32Array.of(-2, -4, -6);
    expect(Array.from(slerpVectors(0.25, a, b))).toEqual(Array.from(a, (x, j) => Math.fround(0.75 * x + 0.25 * b[j])));
    expect(COLINEAR_THRESHOLD).toBe(0.9995);
  });

  it('uses the base as the t = 0 end, and checks the model count', () => {
    const out = slerp.merge({ base: Float32Array.of(1, 0), models: [Float32Array.of(0, 1)], modelParameters: [{}], parameters: { t: 0.5 } });
    expect(out[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(out[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(slerp.validate?.([{}, {}], {}, { choices: {}, given: new Set(), hasBase: true })).toHaveLength(1);
    expect(slerp.validate?.([{}, {}], {}, { choices: {}, given: new Set(), hasBase: false })).toHaveLength(0);
  });
});

describe('model_stock', () => {
  it('returns the model when every fine-tuned model is the same (cos = 1, t = 1)', () => {
    fc.assert(
      fc.property(vec(8), vec(8), (base, model) => {
        fc.pre(norm(model.map((x, j) => x - base[j])) > 1e-3);
        const out = modelStock.merge({ base, models: [model, model, model], modelParameters: [{}, {}, {}], parameters: { filter_wise: 0 } });
        out.forEach((v, j) => expect(Math.abs(v - model[j])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(model[j]))));
      }),
    );
  });

  it('with orthogonal offsets (cos = 0) returns the base; filter_wise works per row', () => {
    const base = Float32Array.of(1, 1, 1, 1);
    const out = modelStock.merge({ base, models: [Float32Array.of(2, 1, 2, 2), Float32Array.of(1, 2, 2, 2)], modelParameters: [{}, {}], parameters: { filter_wise: 0 } });
    // Offsets (1,0,1,1) and (0,1,1,1): cos = 2/3, t = 2·(2/3)/(1 + 2/3) = 0.8.
    expect(Array.from(out)).toEqual([1.4, 1.4, 1.8, 1.8].map(Math.fround));
    const rows = modelStock.merge({ base, models: [Float32Array.of(2, 1, 2, 2), Float32Array.of(1, 2, 2, 2)], modelParameters: [{}, {}], parameters: { filter_wise: 1 }, shape: [2, 2] });
    // Row 0: offsets (1,0) and (0,1) are orthogonal -> base; row 1: identical offsets -> the models' mean.
    expect(Array.from(rows)).toEqual([1, 1, 2, 2]);
    expect(modelStock.validate?.([{}], {})).toHaveLength(1);
  });
});
