import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { factoredWeights, pelaRank } from './rank';

export interface LayerDims {
  /** Input features. */
  readonly a: number;
  /** Output features. */
  readonly b: number;
}

/** Parameters of a model whose `layers` are factored at `gamma` and whose other `fixed` parameters stay. */
export function paramsAtGamma(layers: readonly LayerDims[], fixed: number, gamma: number): number {
  let total = fixed;
  for (const { a, b } of layers) total += factoredWeights(a, b, pelaRank(a, b, gamma));
  return total;
}

/** Significant digits kept in a solved gamma, so configs and reports read 2.13479 rather than 2.1347912837461. */
const GAMMA_DIGITS = 6;

/**
 * The gamma that brings a model to `targetRatio` of its `paramsBefore` parameters: the smallest
 * gamma >= 1 whose parameter count is at most targetRatio·paramsBefore (so the result never
 * overshoots the budget). The count is a non-increasing step function of gamma (ranks are floors
 * clamped at 1), so bisection finds the step; the answer is then rounded up to 6 significant
 * digits, which keeps it on the same side of the step. OUT_OF_RANGE when even rank 1 everywhere
 * cannot reach the target.
 */
export function gammaForTargetRatio(layers: readonly LayerDims[], paramsBefore: number, targetRatio: number): number {
  if (typeof targetRatio !== 'number' || !Number.isFinite(targetRatio) || targetRatio <= 0 || targetRatio > 1) {
    throw invalidArgument('targetRatio', `must be a number in (0, 1], got ${String(targetRatio)}`);
  }
  if (layers.length === 0) throw new PatchworkError('FAILED_PRECONDITION', 'targetRatio: the model has no linear layer eligible for factorization');
  let dense = 0;
  for (const { a, b } of layers) dense += a * b;
  const fixed = paramsBefore - dense;
  const budget = targetRatio * paramsBefore;
  if (paramsAtGamma(layers, fixed, 1) <= budget) return 1;
  // Beyond max a·b/(a+b), every rank is the clamp value 1.
  let hi = 1 + Math.max(...layers.map(({ a, b }) => (a * b) / (a + b)));
  const floorParams = paramsAtGamma(layers, fixed, hi);
  if (floorParams > budget) {
    const best = floorParams / paramsBefore;
    throw new PatchworkError('OUT_OF_RANGE', `targetRatio: ${targetRatio} is unreachable; rank 1 in every eligible layer still keeps ${best.toFixed(4)} of the parameters`, {
      violations: [{ field: 'targetRatio', description: `must be at least ${best.toFixed(4)} with these exclusions` }],
    });
  }
  let lo = 1;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (paramsAtGamma(layers, fixed, mid) <= budget) hi = mid;
    else lo = mid;
  }
  const scale = 10 ** (GAMMA_DIGITS - 1 - Math.floor(Math.log10(hi)));
  return Math.ceil(hi * scale) / scale;
}
