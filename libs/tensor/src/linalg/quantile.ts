import type { ChunkSource } from './chunk-source';
import { fromKey, selectInPlace, sortableKeys } from './kth-select';
import { assertQuantileArgs, blend, quantilePlan, type QuantileMethod } from './quantile-rule';
import { selectStreamKeys } from './radix-select';

export interface QuantileOptions {
  /** Default `linear` (numpy's default); see QuantileMethod. */
  method?: QuantileMethod;
  /** Quantile of |x| instead of x. */
  abs?: boolean;
  signal?: AbortSignal;
}

/**
 * The exact q-quantile (q in [0, 1]) of chunked data of any size, in two passes and bounded
 * memory (see `streamKthLargest`); the same number numpy.quantile gives on the concatenated data
 * for the numpy methods. NaN is rejected with INVALID_ARGUMENT; -0 ranks below +0.
 */
export async function quantile(source: ChunkSource, q: number, options: QuantileOptions = {}): Promise<number> {
  const method = options.method ?? 'linear';
  assertQuantileArgs(q, method);
  let weight = 0;
  const [lower, upper] = await selectStreamKeys(source, options, (count) => {
    const plan = quantilePlan(count, q, method);
    weight = plan.weight;
    return [plan.lower, plan.upper];
  });
  const abs = options.abs === true;
  return blend(fromKey(lower, abs), fromKey(upper, abs), weight);
}

/** The exact q-quantile of an in-memory Float32Array (one quickselect); same rules as `quantile`. */
export function quantileOf(values: Float32Array, q: number, options: Omit<QuantileOptions, 'signal'> = {}): number {
  const method = options.method ?? 'linear';
  assertQuantileArgs(q, method);
  const abs = options.abs === true;
  const keys = sortableKeys(values, abs, 'values');
  const plan = quantilePlan(keys.length, q, method);
  const lower = selectInPlace(keys, plan.lower);
  let upper = lower;
  if (plan.upper !== plan.lower) {
    // selectInPlace leaves everything after plan.lower no smaller, so the next rank is their minimum.
    upper = keys[plan.lower + 1];
    for (let i = plan.lower + 2; i < keys.length; i++) if (keys[i] < upper) upper = keys[i];
  }
  return blend(fromKey(lower, abs), fromKey(upper, abs), plan.weight);
}
