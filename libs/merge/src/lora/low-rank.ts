import { qr, quantileOf, randomizedSvd, svd, tf } from '@patchwork/tensor';

/** Rank-r factors of a matrix M ≈ B·A with B = U·diag(S) [m × r] and A = Vᵀ [r × n], row-major float32. */
export interface LowRankFactors {
  b: Float32Array;
  a: Float32Array;
  rank: number;
}

export type SvdAlgorithm = 'auto' | 'exact' | 'randomized';

/** Largest short side handled by the exact (Jacobi) SVD under `auto`; beyond it the randomized one is used. */
export const EXACT_SVD_LIMIT = 256;

function factorsFrom(u: Float64Array, s: Float64Array, v: Float64Array, m: number, n: number, k: number, rank: number): LowRankFactors {
  const b = new Float32Array(m * rank);
  const a = new Float32Array(rank * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) b[i * rank + j] = u[i * k + j] * s[j];
  for (let j = 0; j < k; j++) for (let c = 0; c < n; c++) a[j * n + c] = v[c * k + j];
  return { b, a, rank };
}

/**
 * The best rank-`rank` approximation of a dense row-major m × n matrix (Eckart–Young), as factors;
 * columns beyond min(m, n) are zero. `exact`: Float64 Jacobi SVD; `randomized`: range finder with
 * four power iterations (near-optimal on the fast-decaying spectra of merged deltas), seeded.
 */
export async function denseLowRank(matrix: Float32Array, m: number, n: number, rank: number, algorithm: SvdAlgorithm, seed: number): Promise<LowRankFactors> {
  const k = Math.min(rank, m, n);
  const exact = algorithm === 'exact' || (algorithm === 'auto' && Math.min(m, n) <= EXACT_SVD_LIMIT);
  if (exact) {
    const r = svd(matrix, m, n, { k });
    return factorsFrom(r.u, r.s, r.v, m, n, k, rank);
  }
  const tensor = tf.tensor2d(matrix, [m, n]);
  try {
    const r = await randomizedSvd(tensor, { k, powerIterations: 4, seed, computeError: false });
    return factorsFrom(r.u, r.s, r.v, m, n, k, rank);
  } finally {
    tensor.dispose();
  }
}

/**
 * The best rank-`rank` approximation of B·A given in factored form (B m × R, A R × n, R small), exactly
 * and without forming the m × n product: B = Q₁R₁, Aᵀ = Q₂R₂, so B·A = Q₁ (R₁R₂ᵀ) Q₂ᵀ and only the
 * small core R₁R₂ᵀ needs an SVD.
 */
export function factoredLowRank(b: Float64Array, a: Float64Array, m: number, inner: number, n: number, rank: number): LowRankFactors {
  const left = qr(b, m, inner);
  const at = new Float64Array(n * inner);
  for (let i = 0; i < inner; i++) for (let c = 0; c < n; c++) at[c * inner + i] = a[i * n + c];
  const right = qr(at, n, inner);
  const p1 = left.qColumns;
  const p2 = right.qColumns;
  const core = new Float64Array(p1 * p2);
  for (let i = 0; i < p1; i++) {
    for (let j = 0; j < p2; j++) {
      let sum = 0;
      for (let l = 0; l < inner; l++) sum += left.r[i * inner + l] * right.r[j * inner + l];
      core[i * p2 + j] = sum;
    }
  }
  const k = Math.min(rank, p1, p2);
  const small = svd(core, p1, p2, { k });
  const u = new Float64Array(m * k);
  const v = new Float64Array(n * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) for (let l = 0; l < p1; l++) u[i * k + j] += left.q[i * p1 + l] * small.u[l * k + j];
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) for (let l = 0; l < p2; l++) v[i * k + j] += right.q[i * p2 + l] * small.v[l * k + j];
  return factorsFrom(u, small.s, v, m, n, k, rank);
}

/** PEFT's `svd_clamp`: clamp both factors to ±quantile(concat(B, A), q) (linear interpolation, like torch.quantile). */
export function clampFactors(factors: LowRankFactors, q: number): LowRankFactors {
  const all = new Float32Array(factors.b.length + factors.a.length);
  all.set(factors.b);
  all.set(factors.a, factors.b.length);
  const hi = quantileOf(all, q, { method: 'linear' });
  const lo = -hi;
  const clamp = (x: Float32Array) => x.map((v) => Math.min(hi, Math.max(lo, v)));
  return { b: clamp(factors.b), a: clamp(factors.a), rank: factors.rank };
}
