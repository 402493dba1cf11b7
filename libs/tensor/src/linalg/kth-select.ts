import { invalidArgument, PatchworkError } from '@patchwork/errors';
import { absFromKey, absKey, bitsView, valueFromKey, valueKey } from './float-order';
import { assertIntegerInRange } from './validate';

export interface SelectOptions {
  /** Rank by magnitude |x| instead of by value; the result is then a magnitude (non-negative). */
  abs?: boolean;
}

/**
 * The k-th largest value of an in-memory Float32Array (k = 1 is the maximum), exactly, in expected
 * O(n) time and n·4 bytes of scratch; the input is not modified.
 *
 * Order: IEEE totalOrder, so -0 ranks just below +0 and the result is exactly the element a full
 * descending sort would put at position k − 1. NaN is rejected with INVALID_ARGUMENT (it has no
 * rank; silently dropping it would shift every rank).
 */
export function kthLargest(values: Float32Array, k: number, options: SelectOptions = {}): number {
  const keys = sortableKeys(values, options.abs === true, 'values');
  assertIntegerInRange(k, 1, keys.length, 'k');
  return fromKey(selectInPlace(keys, keys.length - k), options.abs === true);
}

/** The k-th smallest value (k = 1 is the minimum); same order and NaN policy as `kthLargest`. */
export function kthSmallest(values: Float32Array, k: number, options: SelectOptions = {}): number {
  const keys = sortableKeys(values, options.abs === true, 'values');
  assertIntegerInRange(k, 1, keys.length, 'k');
  return fromKey(selectInPlace(keys, k - 1), options.abs === true);
}

/** Order-preserving uint32 keys of the values (see float-order.ts); rejects NaN and empty input. */
export function sortableKeys(values: Float32Array, abs: boolean, field: string): Uint32Array {
  if (!(values instanceof Float32Array)) throw invalidArgument(field, 'must be a Float32Array');
  if (values.length === 0) throw new PatchworkError('OUT_OF_RANGE', `${field}: holds no elements; there is no k-th value to select`);
  const bits = bitsView(values);
  const keys = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    if ((x & 0x7fffffff) > 0x7f800000) throw nanError(field, i);
    keys[i] = abs ? absKey(x) : valueKey(x);
  }
  return keys;
}

export function nanError(field: string, index: number) {
  return invalidArgument(field, `element ${index} is NaN; NaN has no rank, so selection rejects it (filter or replace NaN first)`);
}

export function fromKey(key: number, abs: boolean): number {
  return abs ? absFromKey(key) : valueFromKey(key);
}

/**
 * Quickselect with a three-way partition (runs of equal keys, common in pruned weights, end the
 * search at once) and a median-of-three pivot; after a bounded number of rounds it sorts the
 * remaining window, so the worst case stays O(n log n). Returns the key of 0-based ascending rank
 * `rank` and leaves `keys` partitioned around it: positions before hold no larger keys, positions
 * after no smaller ones.
 */
export function selectInPlace(keys: Uint32Array, rank: number): number {
  let lo = 0;
  let hi = keys.length - 1;
  let rounds = 2 * Math.ceil(Math.log2(keys.length + 1)) + 8;
  for (;;) {
    if (hi - lo < 24 || rounds-- <= 0) {
      const window = keys.subarray(lo, hi + 1);
      window.sort();
      return window[rank - lo];
    }
    const pivot = medianOfThree(keys[lo], keys[lo + ((hi - lo) >>> 1)], keys[hi]);
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const x = keys[i];
      if (x < pivot) {
        keys[i++] = keys[lt];
        keys[lt++] = x;
      } else if (x > pivot) {
        keys[i] = keys[gt];
        keys[gt--] = x;
      } else {
        i++;
      }
    }
    if (rank < lt) hi = lt - 1;
    else if (rank > gt) lo = gt + 1;
    else return pivot;
  }
}

function medianOfThree(a: number, b: number, c: number): number {
  if (a < b) return b < c ? b : a < c ? c : a;
  return a < c ? a : b < c ? c : b;
}
