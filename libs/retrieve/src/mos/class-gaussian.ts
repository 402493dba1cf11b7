import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { SeededRandom } from '@patchwork/tensor';

/**
 * Lower-triangular L with L·Lᵀ = A for a symmetric positive-definite `n x n` matrix (row-major,
 * float64). FAILED_PRECONDITION when A is not positive definite (a pivot ≤ 0).
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw invalidArgument('matrix', `has ${a.length} values, expected ${n}x${n}`);
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(sum > 0)) throw new PatchworkError('FAILED_PRECONDITION', `matrix is not positive definite (pivot ${i} is ${sum})`);
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j];
      }
    }
  }
  return l;
}

export interface GaussianFitOptions {
  /** Added to the covariance diagonal (MOS: 1e-4), so a class with fewer examples than dimensions still has a proper Gaussian. */
  readonly ridge?: number;
  /** Keep only the variances (MOS does so for ImageNet-A). */
  readonly diagonal?: boolean;
}

/**
 * A class's feature distribution for classifier alignment: mean and (unbiased) covariance of its
 * features plus a ridge, sampled through a Cholesky factor.
 */
export class ClassGaussian {
  private factor: Float64Array | undefined;

  constructor(
    readonly mean: Float64Array,
    /** `dim x dim` row-major, or the `dim` variances when `diagonal`. */
    readonly covariance: Float64Array,
    readonly diagonal: boolean,
  ) {
    const dim = mean.length;
    if (dim === 0) throw invalidArgument('mean', 'must not be empty');
    if (covariance.length !== (diagonal ? dim : dim * dim)) throw invalidArgument('covariance', `has ${covariance.length} values for dimension ${dim}${diagonal ? ' (diagonal)' : ''}`);
  }

  get dim(): number {
    return this.mean.length;
  }

  /** Fits the chosen rows of `features` `[n, dim]`. */
  static fit(features: Float32Array, dim: number, rows: readonly number[], options: GaussianFitOptions = {}): ClassGaussian {
    const ridge = options.ridge ?? 1e-4;
    if (!(Number.isFinite(ridge) && ridge > 0)) throw invalidArgument('ridge', `must be a positive number, got ${ridge}`);
    if (rows.length === 0) throw invalidArgument('rows', 'a class needs at least one example');
    const diagonal = options.diagonal === true;
    const mean = new Float64Array(dim);
    for (const r of rows) for (let j = 0; j < dim; j++) mean[j] += features[r * dim + j];
    for (let j = 0; j < dim; j++) mean[j] /= rows.length;
    const denom = Math.max(rows.length - 1, 1);
    const cov = new Float64Array(diagonal ? dim : dim * dim);
    const centred = new Float64Array(dim);
    for (const r of rows) {
      for (let j = 0; j < dim; j++) centred[j] = features[r * dim + j] - mean[j];
      if (diagonal) for (let j = 0; j < dim; j++) cov[j] += centred[j] * centred[j];
      else for (let i = 0; i < dim; i++) for (let j = 0; j <= i; j++) cov[i * dim + j] += centred[i] * centred[j];
    }
    if (diagonal) for (let j = 0; j < dim; j++) cov[j] = cov[j] / denom + ridge;
    else {
      for (let i = 0; i < dim; i++) {
        for (let j = 0; j <= i; j++) {
          const v = cov[i * dim + j] / denom + (i === j ? ridge : 0);
          cov[i * dim + j] = v;
          cov[j * dim + i] = v;
        }
      }
    }
    return new ClassGaussian(mean, cov, diagonal);
  }

  /** `n` draws, `[n, dim]` row-major float32. */
  sample(n: number, rng: SeededRandom): Float32Array {
    const dim = this.dim;
    const out = new Float32Array(n * dim);
    const z = new Float64Array(dim);
    if (this.diagonal) {
      for (let s = 0; s < n; s++) for (let j = 0; j < dim; j++) out[s * dim + j] = this.mean[j] + Math.sqrt(this.covariance[j]) * rng.nextGaussian();
      return out;
    }
    this.factor ??= cholesky(this.covariance, dim);
    const l = this.factor;
    for (let s = 0; s < n; s++) {
      for (let j = 0; j < dim; j++) z[j] = rng.nextGaussian();
      for (let i = 0; i < dim; i++) {
        let v = this.mean[i];
        for (let k = 0; k <= i; k++) v += l[i * dim + k] * z[k];
        out[s * dim + i] = v;
      }
    }
    return out;
  }
}
