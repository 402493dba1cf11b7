import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { randomizedSvd, svd, tf } from '@patchwork/tensor';
import { type ReconstructionError, reconstructionError } from './reconstruction-error';

export type SvdMethod = 'exact' | 'randomized';

export const SVD_METHODS: readonly SvdMethod[] = ['exact', 'randomized'];

export interface RandomizedSvdSettings {
  /** Extra sketch columns (default 10). */
  readonly oversamples?: number;
  /**
   * Subspace iterations (default 4). PELA's ranks are 25–50% of min(a, b), where two iterations
   * still leave 2–4% excess error and four about 1% (research/compress.md 2.4); scikit-learn also
   * uses 4 at such ranks.
   */
  readonly powerIterations?: number;
  /** Seed of the Gaussian test matrix (default 0). */
  readonly seed?: number;
}

export const RANDOMIZED_DEFAULTS = { oversamples: 10, powerIterations: 4, seed: 0 } as const;

export interface FactorizeMatrixOptions {
  readonly rank: number;
  /** `exact` (default): Householder QR + one-sided Jacobi in Float64, LAPACK-grade. `randomized`: faster, slightly worse. */
  readonly svd?: SvdMethod;
  readonly randomized?: RandomizedSvdSettings;
  /**
   * In randomized mode, also run an exact SVD to report the Eckart–Young optimum (as slow as exact
   * mode; for measuring the randomized excess error). Exact mode always reports it.
   */
  readonly measureOptimal?: boolean;
  readonly signal?: AbortSignal;
}

export interface MatrixFactorization {
  /** U_r·diag(√σ), `[rows, r]`. */
  readonly u: tf.Tensor2D;
  /** diag(√σ)·V_rᵀ, `[r, cols]`. */
  readonly v: tf.Tensor2D;
  /** The r leading singular values (estimates in randomized mode). */
  readonly singularValues: Float64Array;
  /** Measured on the float32 factors. */
  readonly error: ReconstructionError;
  /** Eckart–Young optimum √(Σ_{i>r} σ_i²) / ‖M‖_F; null in randomized mode unless measureOptimal. */
  readonly optimalRelError: number | null;
}

function sumOfSquares(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return s;
}

/**
 * The optimum for rank r from ‖M‖_F² and the r leading singular values. Exact at full rank;
 * otherwise the Float64 cancellation costs at most ~1e-8 of ‖M‖_F.
 */
function optimalRelative(normSq: number, top: Float64Array, full: boolean): number {
  if (normSq === 0 || full) return 0;
  return Math.sqrt(Math.max(0, normSq - sumOfSquares(top)) / normSq);
}

/**
 * The symmetric split of a truncated SVD: `u = U_r √S` and `v = √S V_rᵀ`, float32 tensors, from
 * row-major U (rows x r) and V (cols x r).
 */
function splitFactors(uRows: Float64Array, s: Float64Array, vRows: Float64Array, rows: number, cols: number, r: number): [tf.Tensor2D, tf.Tensor2D] {
  const root = Float64Array.from(s.subarray(0, r), Math.sqrt);
  const u = new Float32Array(rows * r);
  for (let i = 0; i < rows; i++) for (let j = 0; j < r; j++) u[i * r + j] = uRows[i * r + j] * root[j];
  const v = new Float32Array(r * cols);
  for (let c = 0; c < cols; c++) for (let j = 0; j < r; j++) v[j * cols + c] = vRows[c * r + j] * root[j];
  return [tf.tensor2d(u, [rows, r]), tf.tensor2d(v, [r, cols])];
}

/**
 * Factorises `m [rows, cols]` at `rank` as PELA does: truncated SVD M ≈ U_r S_r V_rᵀ, singular
 * values split symmetrically between the two factors (so ‖u‖_F = ‖v‖_F). Signs follow the linalg
 * convention (largest entry of each left singular vector positive), so files are deterministic.
 * The caller owns `u` and `v`.
 */
export async function factorizeMatrix(m: tf.Tensor2D, options: FactorizeMatrixOptions): Promise<MatrixFactorization> {
  if (!(m instanceof tf.Tensor) || m.rank !== 2 || m.dtype !== 'float32') throw invalidArgument('matrix', 'must be a float32 rank-2 tensor');
  const [rows, cols] = m.shape;
  const rank = options.rank;
  const full = Math.min(rows, cols);
  if (!Number.isSafeInteger(rank) || rank < 1 || rank > full) {
    throw new PatchworkError('OUT_OF_RANGE', `rank: must be an integer in [1, ${full}] for a ${rows} x ${cols} matrix, got ${rank}`, {
      violations: [{ field: 'rank', description: `must be within [1, ${full}]` }],
    });
  }
  const method = options.svd ?? 'exact';
  if (!SVD_METHODS.includes(method)) throw invalidArgument('svd', `must be one of ${SVD_METHODS.join(', ')}, got ${JSON.stringify(method)}`);

  let optimalRelError: number | null = null;
  let triplets: { u: Float64Array; s: Float64Array; v: Float64Array } | undefined;
  if (method === 'exact' || options.measureOptimal === true) {
    const data = (await m.data()) as Float32Array;
    const exact = svd(data, rows, cols, { k: rank });
    optimalRelError = optimalRelative(sumOfSquares(data), exact.s, rank === full);
    if (method === 'exact') triplets = exact;
  }
  if (options.signal?.aborted) throw new PatchworkError('CANCELLED', 'factorization cancelled', { cause: options.signal.reason });
  if (triplets === undefined) {
    const settings = { ...RANDOMIZED_DEFAULTS, ...options.randomized };
    triplets = await randomizedSvd(m, {
      k: rank,
      oversamples: settings.oversamples,
      powerIterations: settings.powerIterations,
      seed: settings.seed,
      computeError: false,
      signal: options.signal,
    });
  }
  const [u, v] = splitFactors(triplets.u, triplets.s, triplets.v, rows, cols, rank);
  try {
    const error = await reconstructionError(m, u, v);
    return { u, v, singularValues: triplets.s.slice(0, rank), error, optimalRelError };
  } catch (e) {
    tf.dispose([u, v]);
    throw e;
  }
}
