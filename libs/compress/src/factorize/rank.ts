import { invalidArgument } from '@patchwork/errors';

/**
 * PELA's rank for a linear map with `a` inputs and `b` outputs at compression factor `gamma`:
 * floor(a·b / (gamma·(a + b))), so that the two factors (a·r + r·b weights) hold about 1/gamma of
 * the dense a·b. Clamped to [1, min(a, b)]: a rank of 0 would delete the layer, and a rank above
 * min(a, b) adds weights without adding anything a full-rank factorisation lacks (gamma <= 1/2
 * always reaches min(a, b), which is how exact-parity checks factor at full rank).
 */
export function pelaRank(a: number, b: number, gamma: number): number {
  for (const [field, v] of [['a', a], ['b', b]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw invalidArgument(field, `must be a positive integer, got ${v}`);
  }
  assertGamma(gamma);
  const r = Math.floor((a * b) / (gamma * (a + b)));
  return Math.min(Math.max(r, 1), Math.min(a, b));
}

export function assertGamma(gamma: unknown, field = 'gamma'): asserts gamma is number {
  if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma <= 0) {
    throw invalidArgument(field, `must be a finite number > 0, got ${String(gamma)}`);
  }
}

/** Weights of the factor pair of an a x b map at rank r (biases are never factored). */
export function factoredWeights(a: number, b: number, rank: number): number {
  return rank * (a + b);
}
