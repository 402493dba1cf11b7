import { PatchworkError } from '@patchwork/errors';
import { rankWindowMask } from './rank-window';
import { uniformAt } from './random';

/**
 * mergekit's sparsifiers (`sparsify.py`), each returning a new array and leaving the input alone.
 * Every one returns an unchanged copy when density >= 1.
 *
 * Rescaling of the random ones: `l1` multiplies the kept values by ‖δ‖₁/‖δ⊙m‖₁ per tensor
 * (mergekit since 2025; skipped when either norm is below 1e-7); `inverse` divides each kept value
 * by its keep probability (the DARE and DELLA papers, and mergekit up to v0.1.0).
 */
export type RescaleMode = 'none' | 'l1' | 'inverse';

const L1_EPS = 1e-7;

function l1(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.abs(values[i]);
  return sum;
}

/** mergekit's `rescaled_masked_tensor` with the L1 norm: δ⊙m scaled so its L1 norm matches δ's. */
export function rescaleL1(original: Float32Array, pruned: Float32Array): Float32Array {
  const before = l1(original);
  const after = l1(pruned);
  if (before < L1_EPS || after < L1_EPS) return pruned;
  const factor = before / after;
  for (let i = 0; i < pruned.length; i++) pruned[i] *= factor;
  return pruned;
}

function applyMask(delta: Float32Array, mask: Uint8Array): Float32Array {
  const out = new Float32Array(delta.length);
  for (let i = 0; i < delta.length; i++) if (mask[i]) out[i] = delta[i];
  return out;
}

/**
 * TIES trim: keep exactly k = int(density·n) largest magnitudes (ties by position). mergekit
 * refuses k = 0 rather than zero the whole tensor; so does this, naming the tensor.
 */
export function magnitudeSparsify(delta: Float32Array, density: number, rescale: boolean, tensor = 'tensor'): Float32Array {
  if (density >= 1) return delta.slice();
  const k = Math.trunc(density * delta.length);
  if (k <= 0) {
    throw new PatchworkError(
      'INVALID_ARGUMENT',
      `density ${density} keeps no element of ${tensor} (${delta.length} elements); raise density or use semantics: peft, which zeroes the tensor instead`,
    );
  }
  const out = applyMask(delta, rankWindowMask(delta, 0, k));
  return rescale ? rescaleL1(delta, out) : out;
}

/** DARE: keep each element with probability `density`, drawn from the counter stream `key`. */
export function randomSparsify(delta: Float32Array, density: number, rescale: RescaleMode, key: number): Float32Array {
  if (density >= 1) return delta.slice();
  const out = new Float32Array(delta.length);
  if (density <= 0) return out;
  const inverse = rescale === 'inverse' ? 1 / density : 1;
  for (let i = 0; i < delta.length; i++) if (uniformAt(key, i) < density) out[i] = delta[i] * inverse;
  return rescale === 'l1' ? rescaleL1(delta, out) : out;
}

/**
 * Breadcrumbs (`magnitude_outliers`): drop the γ·n largest magnitudes (outliers) and the smallest,
 * keeping int(density·n) in between. Unlike mergekit's `[n_bot:-n_top]` slice, n_top = 0 keeps the
 * top of the window rather than dropping everything.
 */
export function magnitudeOutliersSparsify(delta: Float32Array, density: number, gamma: number, rescale: boolean): Float32Array {
  if (density >= 1) return delta.slice();
  const n = delta.length;
  const target = Math.trunc(density * n);
  let top = Math.trunc(gamma * n);
  let bottom = n - target - top;
  if (bottom < 0) {
    top += bottom;
    bottom = 0;
  }
  const out = applyMask(delta, rankWindowMask(delta, top, n - bottom));
  return rescale ? rescaleL1(delta, out) : out;
}

/**
 * DELLA's MAGPRUNE, per row of `rowLength` elements: rank magnitudes ascending 1..m within the row
 * (ties by position) and keep element of rank k with probability p_k = (density − ε) + 2ε(k−1)/(m−1)
 * (a one-element row keeps with probability `density`, where mergekit would divide by zero).
 */
export function dellaSparsify(delta: Float32Array, density: number, epsilon: number, rowLength: number, rescale: RescaleMode, key: number): Float32Array {
  if (density >= 1) return delta.slice();
  const out = new Float32Array(delta.length);
  if (density <= 0) return out;
  const m = rowLength;
  for (let start = 0; start < delta.length; start += m) {
    const order = ascendingMagnitudeOrder(delta.subarray(start, start + m));
    for (let rank = 0; rank < m; rank++) {
      const i = start + order[rank];
      const p = m === 1 ? density : density - epsilon + (2 * epsilon * rank) / (m - 1);
      if (uniformAt(key, i) < p) out[i] = rescale === 'inverse' ? delta[i] / p : delta[i];
    }
  }
  return rescale === 'l1' ? rescaleL1(delta, out) : out;
}

/** Positions of a row sorted by |x| ascending, ties by position. */
function ascendingMagnitudeOrder(row: Float32Array): Uint32Array {
  const m = row.length;
  const bits = new Uint32Array(row.buffer, row.byteOffset, m);
  const order = new Uint32Array(m);
  // (|x| bits, position) packed into one double is exact while bits·m < 2^53, and a typed-array
  // sort of doubles is far faster than a comparator sort.
  if (m <= 1 << 22) {
    const packed = new Float64Array(m);
    for (let j = 0; j < m; j++) packed[j] = (bits[j] & 0x7fffffff) * m + j;
    packed.sort();
    for (let j = 0; j < m; j++) order[j] = packed[j] % m;
    return order;
  }
  for (let j = 0; j < m; j++) order[j] = j;
  return order.sort((x, y) => (bits[x] & 0x7fffffff) - (bits[y] & 0x7fffffff) || x - y);
}
