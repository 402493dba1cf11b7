import { PatchworkError } from '@patchwork/errors';
import type { LinearSpec, Model } from '@patchwork/models';
import { assertGamma, factoredWeights, pelaRank } from './rank';
import { type SelectModulesOptions, type SkippedModule, selectModules } from './select-modules';
import { gammaForTargetRatio } from './target-ratio';

export interface FactorizationTarget {
  /** PELA's compression factor per layer; exactly one of gamma and targetRatio. */
  readonly gamma?: number;
  /** Whole-model parameters after / before, in (0, 1]; solved for gamma (see gammaForTargetRatio). */
  readonly targetRatio?: number;
}

export interface PlannedLayer {
  readonly module: string;
  readonly spec: LinearSpec;
  readonly rank: number;
  /** a·b. */
  readonly denseWeights: number;
  /** r·(a + b). */
  readonly factoredWeights: number;
}

export interface FactorizationPlan {
  readonly gamma: number;
  readonly targetRatio: number | null;
  readonly layers: readonly PlannedLayer[];
  readonly skipped: readonly SkippedModule[];
  readonly paramsBefore: number;
  /** paramsBefore − Σ a·b + Σ r·(a + b). */
  readonly paramsAfter: number;
}

export type PlanOptions = FactorizationTarget & SelectModulesOptions;

/** Every parameter of a (dense) model, counted once (a tied head is not a separate parameter). */
export function countParameters(weights: ReadonlyMap<string, { size: number }>): number {
  let n = 0;
  for (const t of weights.values()) n += t.size;
  return n;
}

/** Which layers get which rank, and the resulting parameter count; touches no tensor data. */
export function planFactorization(model: Model, options: PlanOptions): FactorizationPlan {
  const { gamma, targetRatio } = options;
  if ((gamma === undefined) === (targetRatio === undefined)) {
    throw new PatchworkError('INVALID_ARGUMENT', 'exactly one of gamma and targetRatio is required', {
      violations: [{ field: 'gamma', description: 'give exactly one of gamma and targetRatio' }],
    });
  }
  if (gamma !== undefined) assertGamma(gamma);
  const { eligible, skipped } = selectModules(model, options);
  const paramsBefore = countParameters(model.weights);
  const resolved = gamma ?? gammaForTargetRatio(eligible.map((s) => ({ a: s.inFeatures, b: s.outFeatures })), paramsBefore, targetRatio as number);
  let paramsAfter = paramsBefore;
  const layers = eligible.map((spec): PlannedLayer => {
    const rank = pelaRank(spec.inFeatures, spec.outFeatures, resolved);
    const dense = spec.inFeatures * spec.outFeatures;
    const factored = factoredWeights(spec.inFeatures, spec.outFeatures, rank);
    paramsAfter += factored - dense;
    return { module: spec.module, spec, rank, denseWeights: dense, factoredWeights: factored };
  });
  return { gamma: resolved, targetRatio: targetRatio ?? null, layers, skipped, paramsBefore, paramsAfter };
}
