import { SeededRandom, describeEachBackend, tf } from '@patchwork/tensor';
import { clampFactors, denseLowRank, factoredLowRank } from './low-rank';

function product(f: { b: Float32Array; a: Float32Array; rank: number }, m: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let l = 0; l < f.rank; l++) for (let c = 0; c < n; c++) out[i * n + c] += f.b[i * f.rank + l] * f.a[l * n + c];
  return out;
}

const maxDiff = (x: ArrayLike<number>, y: ArrayLike<number>) => Array.from(x).reduce((s, v, i) => Math.max(s, Math.abs(v - y[i])), 0);

describeEachBackend('low-rank factors', () => {
  const rng = new SeededRandom(13);
  const m = 120;
  const n = 100;
  const inner = 6;
  const b = rng.fillGaussian(new Float64Array(m * inner));
  const a = rng.fillGaussian(new Float64Array(inner * n));
  const dense = Float32Array.from(product({ b: Float32Array.from(b), a: Float32Array.from(a), rank: inner }, m, n));

  it('exact, randomized and factored paths give the same best approximation of a rank-6 matrix, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const exact = await denseLowRank(dense, m, n, 4, 'exact', 0);
    const randomized = await denseLowRank(dense, m, n, 4, 'randomized', 0);
    const factored = factoredLowRank(b, a, m, inner, n, 4);
    expect(tf.memory().numTensors).toBe(before);
    const reference = product(exact, m, n);
    const scale = Math.max(...Array.from(reference, Math.abs));
    expect(maxDiff(product(randomized, m, n), reference) / scale).toBeLessThan(1e-4);
    expect(maxDiff(product(factored, m, n), reference) / scale).toBeLessThan(1e-5);
    // Rank 6 recovers the matrix itself; a requested rank above min(m, n) pads with zero columns.
    expect(maxDiff(product(factoredLowRank(b, a, m, inner, n, 8), m, n), dense) / scale).toBeLessThan(1e-5);
  });

  it('svd_clamp bounds both factors by the quantile of their values', () => {
    const f = factoredLowRank(b, a, m, inner, n, 4);
    const clamped = clampFactors(f, 0.9);
    const hi = Math.max(...Array.from(clamped.b), ...Array.from(clamped.a));
    const lo = Math.min(...Array.from(clamped.b), ...Array.from(clamped.a));
    expect(hi).toBeLessThanOrEqual(-lo + 1e-6);
    expect(hi).toBeLessThan(Math.max(...Array.from(f.b), ...Array.from(f.a)));
  });
});
