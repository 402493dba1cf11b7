import { PatchworkError } from '@patchwork/errors';

/** AdaLoRA's rank budget over training, counted in triplets summed over all adapted matrices. */
export interface BudgetSchedule {
  /** Σ init ranks (init_r × number of adapted matrices). */
  initBudget: number;
  /** target_r × number of adapted matrices. */
  targetBudget: number;
  tinit: number;
  tfinal: number;
  totalStep: number;
  deltaT: number;
}

export interface BudgetStep {
  budget: number;
  /** Whether this step is a mask event (PEFT's `mask_ind`). */
  mask: boolean;
}

/**
 * PEFT's `RankAllocator.budget_schedule`: full budget through `tinit`, then a cubic decrease
 * b(t) = floor((b0 - bT) (1 - (t - tinit) / (T - tfinal - tinit))^3 + bT) with a mask every
 * `deltaT` steps, then the target budget (mask every step) after `T - tfinal`.
 */
export function budgetAt(step: number, s: BudgetSchedule): BudgetStep {
  if (!Number.isInteger(step) || step < 0) throw new PatchworkError('INVALID_ARGUMENT', `step must be a non-negative integer, got ${step}`);
  if (step <= s.tinit) return { budget: s.initBudget, mask: false };
  if (step > s.totalStep - s.tfinal) return { budget: s.targetBudget, mask: true };
  const mulCoeff = 1 - (step - s.tinit) / (s.totalStep - s.tfinal - s.tinit);
  return { budget: Math.trunc((s.initBudget - s.targetBudget) * mulCoeff ** 3 + s.targetBudget), mask: step % s.deltaT === 0 };
}

/**
 * Which triplets survive a budget: with k = Σ sizes - budget, τ is the k-th smallest score
 * (torch.kthvalue) and every triplet scoring <= τ is pruned (ties can prune more than k).
 * Returns null when k <= 0 (nothing to prune).
 */
export function keepMasks(scores: ReadonlyMap<string, Float32Array>, budget: number): Map<string, boolean[]> | null {
  const all: number[] = [];
  for (const s of scores.values()) for (const v of s) all.push(v);
  const k = all.length - budget;
  if (k <= 0) return null;
  const threshold = Float64Array.from(all).sort()[k - 1];
  const out = new Map<string, boolean[]>();
  for (const [name, s] of scores) out.set(name, Array.from(s, (v) => !(v <= threshold)));
  return out;
}
