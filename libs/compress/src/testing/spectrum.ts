import { SeededRandom, qr } from '@patchwork/tensor';

/**
 * A row-major rows x cols float32 matrix Q1·diag(s)·Q2ᵀ with orthonormal random Q1, Q2, so its
 * singular values are known (up to the float32 rounding of the entries, ~1e-7 relative).
 */
export function matrixWithSpectrum(rows: number, cols: number, s: readonly number[], seed: number): Float32Array {
  const k = s.length;
  const rng = new SeededRandom(seed);
  const q1 = qr(rng.fillGaussian(new Float64Array(rows * k)), rows, k).q;
  const q2 = qr(rng.fillGaussian(new Float64Array(cols * k)), cols, k).q;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let x = 0;
      for (let l = 0; l < k; l++) x += q1[i * k + l] * s[l] * q2[j * k + l];
      out[i * cols + j] = x;
    }
  }
  return out;
}

/** √(Σ_{i>=rank} s_i²) / √(Σ s_i²): the Eckart–Young relative error of the best rank-`rank` approximation. */
export function eckartYoung(s: readonly number[], rank: number): number {
  const total = s.reduce((a, x) => a + x * x, 0);
  const tail = s.slice(rank).reduce((a, x) => a + x * x, 0);
  return Math.sqrt(tail / total);
}
