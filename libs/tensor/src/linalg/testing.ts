/**
 * Spec-only helpers (not exported from the package): random matrices with a prescribed spectrum,
 * so that tests know the exact singular values they expect.
 */
import fc from 'fast-check';
import { matmul } from './dense';
import { qr } from './qr';
import { SeededRandom } from './rng';

export function gaussianMatrix(rng: SeededRandom, rows: number, cols: number): Float64Array {
  return rng.fillGaussian(new Float64Array(rows * cols));
}

/** A Haar-like random matrix with orthonormal columns (rows x cols, rows >= cols). */
export function randomOrthonormal(rng: SeededRandom, rows: number, cols: number): Float64Array {
  return qr(gaussianMatrix(rng, rows, cols), rows, cols).q;
}

/** U diag(sigma) Vᵀ with random orthonormal U (m x r) and V (n x r), r = sigma.length. */
export function matrixWithSpectrum(rng: SeededRandom, m: number, n: number, sigma: ArrayLike<number>): Float64Array {
  const r = sigma.length;
  const u = randomOrthonormal(rng, m, r);
  const v = randomOrthonormal(rng, n, r);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < r; j++) u[i * r + j] *= sigma[j];
  }
  const vt = new Float64Array(r * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < r; j++) vt[j * n + i] = v[i * r + j];
  }
  return matmul(u, vt, m, r, n);
}

/** σ_i = 10^(-decades · i / (count - 1)): from 1 down to 10^-decades. */
export function logSpectrum(count: number, decades: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = count === 1 ? 1 : 10 ** ((-decades * i) / (count - 1));
  return out;
}

/** Row-major U diag(s) Vᵀ from the factors a decomposition returns (U: m x k, V: n x k). */
export function reconstruct(u: ArrayLike<number>, s: ArrayLike<number>, v: ArrayLike<number>, m: number, n: number, k: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < k; l++) {
      const x = u[i * k + l] * s[l];
      if (x === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += x * v[j * k + l];
    }
  }
  return out;
}

/** Values with many ties, both zeros, infinities and denormals, as float32. */
export const float32Values = (maxLength = 300) =>
  fc
    .array(
      fc.oneof(
        fc.float({ noNaN: true }),
        fc.constantFrom(0, -0, 1, -1, 2.5, -2.5, Infinity, -Infinity, 1e-45, -1e-45),
      ),
      { minLength: 1, maxLength },
    )
    .map((xs) => Float32Array.from(xs));

export function sortedAscending(values: Float32Array, abs: boolean): Float32Array {
  // TypedArray sort orders -0 before +0, i.e. IEEE totalOrder on non-NaN values.
  return (abs ? values.map(Math.abs) : values.slice()).sort();
}

/** Splits values into consecutive chunks at the given cut points (each cut taken modulo length). */
export function chunked(values: Float32Array, cuts: number[]): Float32Array[] {
  const points = [...new Set(cuts.map((c) => c % (values.length + 1)))].sort((a, b) => a - b);
  const chunks: Float32Array[] = [];
  let start = 0;
  for (const p of [...points, values.length]) {
    chunks.push(values.subarray(start, p));
    start = p;
  }
  return chunks;
}

/** A factory source whose every pass is an async generator (the shape a file reader has). */
export function asyncFactory(chunks: Float32Array[]): () => AsyncIterable<Float32Array> {
  return async function* () {
    for (const c of chunks) yield c;
  };
}

