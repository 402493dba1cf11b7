import fc from 'fast-check';
import { SeededRandom } from '@patchwork/tensor';
import { ClassGaussian, cholesky } from './class-gaussian';

function spd(values: number[], n: number): Float64Array {
  // B·Bᵀ + n·I is symmetric positive definite for any B.
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? n : 0;
    for (let k = 0; k < n; k++) s += values[i * n + k] * values[j * n + k];
    a[i * n + j] = s;
  }
  return a;
}

describe('cholesky', () => {
  it('gives a lower-triangular L with L·Lᵀ = A (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n * n, maxLength: n * n }))), ([n, values]) => {
        const a = spd(values, n);
        const l = cholesky(a, n);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            if (j > i) expect(l[i * n + j]).toBe(0);
            let s = 0;
            for (let k = 0; k < n; k++) s += l[i * n + k] * l[j * n + k];
            expect(Math.abs(s - a[i * n + j])).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(a[i * n + j])));
          }
        }
      }),
    );
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => cholesky(Float64Array.of(1, 2, 2, 1), 2)).toThrow(/not positive definite/);
    expect(() => cholesky(Float64Array.of(1, 2, 3), 2)).toThrow(/expected 2x2/);
  });
});

describe('ClassGaussian', () => {
  it('fits the mean and the unbiased covariance plus the ridge', () => {
    // Rows (1, 2), (3, 2), (2, 5) of a 2-column matrix; row 3 is not part of the class.
    const features = Float32Array.of(1, 2, 3, 2, 2, 5, 100, 100);
    const g = ClassGaussian.fit(features, 2, [0, 1, 2], { ridge: 0.5 });
    expect(Array.from(g.mean)).toEqual([2, 3]);
    // Centred: (-1, -1), (1, -1), (0, 2); sums of products / (3 - 1).
    expect(Array.from(g.covariance)).toEqual([1 + 0.5, 0, 0, 3 + 0.5]);
    const d = ClassGaussian.fit(features, 2, [0, 1, 2], { ridge: 0.5, diagonal: true });
    expect(Array.from(d.covariance)).toEqual([1.5, 3.5]);
    // One example: covariance is the ridge alone, so sampling still works.
    expect(Array.from(ClassGaussian.fit(features, 2, [3]).covariance)).toEqual([1e-4, 0, 0, 1e-4]);
    expect(() => ClassGaussian.fit(features, 2, [])).toThrow(/at least one example/);
  });

  it('draws samples whose moments match the fitted ones', () => {
    const mean = Float64Array.of(1, -2, 0.5);
    const cov = Float64Array.of(2, 0.6, 0, 0.6, 1, -0.3, 0, -0.3, 0.5);
    for (const g of [new ClassGaussian(mean, cov, false), new ClassGaussian(mean, Float64Array.of(2, 1, 0.5), true)]) {
      const n = 20000;
      const x = g.sample(n, new SeededRandom(3));
      const refit = ClassGaussian.fit(x, 3, Array.from({ length: n }, (_, i) => i), { ridge: 1e-12 });
      refit.mean.forEach((m, j) => expect(Math.abs(m - mean[j])).toBeLessThan(0.05));
      const expected = g.diagonal ? [2, 0, 0, 0, 1, 0, 0, 0, 0.5] : Array.from(cov);
      refit.covariance.forEach((c, j) => expect(Math.abs(c - expected[j])).toBeLessThan(0.06));
    }
  });
});
