import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { activation, erf, erfc, geluErf, geluTanh, silu } from './activations';

/** float64 erfc: Taylor series below 2.5, Lentz-free backward continued fraction above. */
function erfcRef(x: number): number {
  if (x < 0) return 2 - erfcRef(-x);
  if (x < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  let frac = x;
  for (let k = 120; k >= 1; k--) frac = x + k / 2 / frac;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / frac;
}

function evalAt(fn: (t: tf.Tensor) => tf.Tensor, xs: number[]): Float32Array {
  return tf.tidy(() => fn(tf.tensor1d(xs)).dataSync() as Float32Array);
}

const f32 = (min: number, max: number): fc.Arbitrary<number[]> =>
  fc.array(fc.double({ min, max, noNaN: true }).map(Math.fround), { minLength: 1, maxLength: 64 });

describe('erf / erfc', () => {
  it('erf is within 3e-7 of the float64 value', () => {
    fc.assert(
      fc.property(f32(-6, 6), (xs) => {
        const got = evalAt(erf, xs);
        xs.forEach((x, i) => expect(Math.abs(got[i] - (1 - erfcRef(x)))).toBeLessThan(3e-7));
      }),
    );
  });

  it('erfc keeps its relative precision far into the tail (where 1 - erf would be 0)', () => {
    fc.assert(
      fc.property(f32(-3, 9), (xs) => {
        const got = evalAt(erfc, xs);
        xs.forEach((x, i) => {
          const ref = erfcRef(x);
          expect(Math.abs(got[i] - ref) / ref).toBeLessThan(1e-5);
        });
      }),
    );
    expect(evalAt(erfc, [9])[0]).toBeGreaterThan(0);
  });
});

describe('GELU', () => {
  it('exact GELU matches x * Phi(x) in float64, including known values', () => {
    fc.assert(
      fc.property(f32(-12, 12), (xs) => {
        const got = evalAt(geluErf, xs);
        xs.forEach((x, i) => expect(Math.abs(got[i] - 0.5 * x * erfcRef(-x / Math.SQRT2))).toBeLessThan(1e-6 * Math.max(1, Math.abs(x))));
      }),
    );
    const [g1, gm3] = evalAt(geluErf, [1, -3]);
    expect(g1).toBeCloseTo(0.8413447460685429, 6);
    expect(gm3).toBeCloseTo(-0.0040496940948903, 8);
  });

  it('exact GELU has the analytic gradient Phi(x) + x phi(x)', () => {
    fc.assert(
      fc.property(f32(-8, 8), (xs) => {
        const got = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(geluErf(t)))(tf.tensor1d(xs)).dataSync());
        xs.forEach((x, i) => {
          const expected = 0.5 * erfcRef(-x / Math.SQRT2) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
          expect(Math.abs(got[i] - expected)).toBeLessThan(2e-6);
        });
      }),
      { numRuns: 30 },
    );
  });

  it('tanh GELU (gelu_new) and SiLU follow their formulas', () => {
    fc.assert(
      fc.property(f32(-12, 12), (xs) => {
        const tanhGelu = evalAt(geluTanh, xs);
        const s = evalAt(silu, xs);
        xs.forEach((x, i) => {
          const ref = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
          expect(Math.abs(tanhGelu[i] - ref)).toBeLessThan(1e-6 * Math.max(1, Math.abs(x)));
          expect(Math.abs(s[i] - x / (1 + Math.exp(-x)))).toBeLessThan(1e-6 * Math.max(1, Math.abs(x)));
        });
      }),
    );
  });
});

describe('activation()', () => {
  it('maps transformers names and refuses unknown ones with UNIMPLEMENTED', () => {
    expect(activation('gelu', 'f')).toBe(geluErf);
    expect(activation('gelu_pytorch_tanh', 'f')).toBe(geluTanh);
    expect(activation('swish', 'f')).toBe(silu);
    let err: unknown;
    try {
      activation('toString', 'config.hidden_act');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PatchworkError);
    expect((err as PatchworkError).code).toBe('UNIMPLEMENTED');
    expect((err as PatchworkError).message).toContain('config.hidden_act');
  });
});
