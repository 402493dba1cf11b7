import { ViolationCollector } from '@patchwork/errors';
import { minimizeLbfgs } from './lbfgs';

export interface SoftmaxRegressionOptions {
  /** λ in mean cross-entropy + λ/2 · ‖W‖² (bias not penalised), on standardised features. */
  readonly l2: number;
  readonly maxIterations?: number;
  readonly gradientTolerance?: number;
}

export interface SoftmaxRegression {
  readonly numClasses: number;
  readonly dim: number;
  /** `[classes, dim]` row-major, acting on raw (unstandardised) features. */
  readonly weight: Float64Array;
  readonly bias: Float64Array;
  readonly iterations: number;
  readonly converged: boolean;
  /** Final objective value (on standardised features). */
  readonly loss: number;
}

/** Per-feature mean and standard deviation (1 where a feature is constant). */
function standardisation(x: Float64Array, n: number, d: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) std[j] += (x[i * d + j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) std[j] = std[j] > 1e-24 ? Math.sqrt(std[j]) : 1;
  return { mean, std };
}

/**
 * Multinomial logistic regression (softmax, cross-entropy, L2) fitted to convergence with
 * L-BFGS from zero weights. Features are standardised for conditioning (the penalty applies to
 * the standardised weights, as in a scikit-learn StandardScaler + LogisticRegression pipeline)
 * and the result is folded back so it applies to raw features: W_raw = W / σ,
 * b_raw = b − W_raw · μ. The objective is strictly convex in W, so the fit is unique and does not
 * depend on any seed; for two classes the rows come out as exact negatives of each other.
 */
export function fitSoftmaxRegression(x: Float64Array, n: number, d: number, labels: Int32Array, numClasses: number, options: SoftmaxRegressionOptions): SoftmaxRegression {
  const problems = new ViolationCollector();
  if (x.length !== n * d) problems.add('features', `has ${x.length} values for ${n} x ${d}`);
  if (labels.length !== n) problems.add('labels', `has ${labels.length} entries for ${n} examples`);
  if (!Number.isInteger(numClasses) || numClasses < 2) problems.add('classes', 'need at least two classes');
  if (!(options.l2 > 0) || !Number.isFinite(options.l2)) problems.add('l2', `must be a positive number, got ${options.l2}`);
  if (labels.some((y) => y < 0 || y >= numClasses)) problems.add('labels', `must lie in [0, ${numClasses})`);
  problems.throwIfAny();
  const { mean, std } = standardisation(x, n, d);
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] = (x[i * d + j] - mean[j]) / std[j];
  const c = numClasses;
  const wSize = c * d;
  const logits = new Float64Array(c);
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let k = 0; k < c; k++) {
        let s = theta[wSize + k];
        for (let j = 0; j < d; j++) s += theta[k * d + j] * z[i * d + j];
        logits[k] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let k = 0; k < c; k++) sum += Math.exp(logits[k] - max);
      const lse = max + Math.log(sum);
      loss += lse - logits[labels[i]];
      for (let k = 0; k < c; k++) {
        const r = (Math.exp(logits[k] - lse) - (k === labels[i] ? 1 : 0)) / n;
        grad[wSize + k] += r;
        for (let j = 0; j < d; j++) grad[k * d + j] += r * z[i * d + j];
      }
    }
    loss /= n;
    for (let p = 0; p < wSize; p++) {
      loss += (options.l2 / 2) * theta[p] * theta[p];
      grad[p] += options.l2 * theta[p];
    }
    return loss;
  };
  const fit = minimizeLbfgs(objective, new Float64Array(wSize + c), { maxIterations: options.maxIterations, gradientTolerance: options.gradientTolerance });
  const weight = new Float64Array(wSize);
  const bias = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    let b = fit.x[wSize + k];
    for (let j = 0; j < d; j++) {
      weight[k * d + j] = fit.x[k * d + j] / std[j];
      b -= weight[k * d + j] * mean[j];
    }
    bias[k] = b;
  }
  return { numClasses: c, dim: d, weight, bias, iterations: fit.iterations, converged: fit.converged, loss: fit.value };
}

/** Class scores W·x + b of each row of `x` (`[n, d]`), `[n, classes]`. */
export function linearScores(weight: ArrayLike<number>, bias: ArrayLike<number>, x: ArrayLike<number>, n: number, d: number): Float64Array {
  const c = bias.length;
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      let s = bias[k];
      for (let j = 0; j < d; j++) s += weight[k * d + j] * x[i * d + j];
      out[i * c + k] = s;
    }
  }
  return out;
}
