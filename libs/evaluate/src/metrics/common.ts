import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { MetricDefinition, MetricItem, MetricKwargs, ScoredDoc } from './types';

/** `0..n-1`, the indices of a full (not resampled) aggregation. */
export function allIndices(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Aggregates a metric over every item once. */
export function aggregate(metric: MetricDefinition, items: readonly MetricItem[], kwargs: MetricKwargs = {}, numClasses?: number): number {
  return metric.aggregator(items, kwargs, { numClasses })(allIndices(items.length));
}

export function noKwargs(metric: string) {
  return (raw: MetricKwargs, field: string): MetricKwargs => {
    const keys = Object.keys(raw);
    if (keys.length > 0) throw invalidArgument(`${field}.${keys[0]}`, `metric ${metric} takes no options`);
    return {};
  };
}

export function requireField<K extends keyof ScoredDoc>(doc: ScoredDoc, key: K, metric: string): NonNullable<ScoredDoc[K]> {
  const value = doc[key];
  if (value === undefined || value === null) {
    throw new PatchworkError('INTERNAL', `metric ${metric}: the scored document has no ${String(key)} (output_type ${doc.outputType})`);
  }
  return value as NonNullable<ScoredDoc[K]>;
}

/** The `[gold, pred]` pair that classification metrics aggregate (lm-eval's `(gold, pred)` tuples). */
export function goldPredItem(doc: ScoredDoc, metric: string): readonly [number, number] {
  return [requireField(doc, 'gold', metric), requireField(doc, 'pred', metric)];
}

/** Scalar items as a typed array; INVALID_ARGUMENT names the first item that is not a number. */
export function scalarItems(items: readonly MetricItem[], metric: string): Float64Array {
  const out = new Float64Array(items.length);
  items.forEach((item, i) => {
    if (typeof item !== 'number') throw new PatchworkError('INVALID_ARGUMENT', `metric ${metric}: item ${i} must be a number, got ${JSON.stringify(item)}`);
    out[i] = item;
  });
  return out;
}

/** Pair items as two typed arrays; INVALID_ARGUMENT names the first item that is not a pair of numbers. */
export function pairItems(items: readonly MetricItem[], metric: string): [Float64Array, Float64Array] {
  const a = new Float64Array(items.length);
  const b = new Float64Array(items.length);
  items.forEach((item, i) => {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'number' || typeof item[1] !== 'number') {
      throw new PatchworkError('INVALID_ARGUMENT', `metric ${metric}: item ${i} must be a [number, number] pair, got ${JSON.stringify(item)}`);
    }
    a[i] = item[0];
    b[i] = item[1];
  });
  return [a, b];
}

/** Mean of scalar items at the indices, summed left to right like Python's sum(). */
export function meanAggregator(items: readonly MetricItem[], metric: string): (indices: ArrayLike<number>) => number {
  const xs = scalarItems(items, metric);
  return (indices) => {
    let s = 0;
    for (let k = 0; k < indices.length; k++) s += xs[indices[k]];
    return s / indices.length;
  };
}
