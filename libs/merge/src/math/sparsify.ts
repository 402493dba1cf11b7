import { PatchworkError } from '@patchwork/errors';
import { RankWindowFilter, rankWindowOf } from './rank-window';
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

/** The L1 rescale factor ‖δ‖₁/‖δ⊙m‖₁ from the two norms, or null when mergekit skips it (either below 1e-7). */
export function l1Factor(before: number, after: number): number | null {
  return before < L1_EPS || after < L1_EPS ? null : before / after;
}

/** Multiplies in place (float32 results), as torch's in-place scaling does. */
export function scaleInPlace(values: Float32Array, factor: number): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] *= factor;
  return values;
}

/** mergekit's `rescaled_masked_tensor` with the L1 norm: δ⊙m scaled so its L1 norm matches δ's. */
export function rescaleL1(original: Float32Array, pruned: Float32Array): Float32Array {
  const factor = l1Factor(l1(original), l1(pruned));
  return factor === null ? pruned : scaleInPlace(pruned, factor);
}

/** δ where the filter keeps the element (visited in position order), 0 elsewhere. */
export function maskByWindow(delta: Float32Array, filter: RankWindowFilter): Float32Array {
  const out = new Float32Array(delta.length);
  for (let i = 0; i < delta.length; i++) if (filter.keep(Math.abs(delta[i]))) out[i] = delta[i];
  return out;
}

/**
 * TIES trim: keep exactly k = int(density·n) largest magnitudes (ties by position). mergekit
 * refuses k = 0 rather than zero the whole tensor; so does this, naming the tensor.
 */
export function magnitudeSparsify(delta: Float32Array, density: number, rescale: boolean, tensor = 'tensor'): Float32Array {
  if (density >= 1) return delta.slice();
  const k = magnitudeKeepCount(delta.length, density, tensor);
  const out = maskByWindow(delta, new RankWindowFilter(rankWindowOf(delta, 0, k)));
  return rescale ? rescaleL1(delta, out) : out;
}

/** k = int(density·n) of the TIES trim; INVALID_ARGUMENT when it keeps nothing (density < 1). */
export function magnitudeKeepCount(n: number, density: number, tensor: string): number {
  const k = Math.trunc(density * n);
  if (k <= 0) {
    throw new PatchworkError(
      'INVALID_ARGUMENT',
      `density ${density} keeps no element of ${tensor} (${n} elements); raise density or use semantics: peft, which zeroes the tensor instead`,
    );
  }
  return k;
}

/**
 * DARE's draw over a stretch of a tensor starting at element `offset` (draws are keyed by the
 * element's position in the whole tensor); `inverse` divides the kept values by density. No L1.
 */
export function randomSparsifyChunk(delta: Float32Array, density: number, inverse: boolean, key: number, offset: number): Float32Array {
  const out = new Float32Array(delta.length);
  if (density <= 0) return out;
  const scale = inverse ? 1 / density : 1;
  for (let i = 0; i < delta.length; i++) if (uniformAt(key, offset + i) < density) out[i] = delta[i] * scale;
  return out;
}

/** DARE: keep each element with probability `density`, drawn from the counter stream `key`. */
export function randomSparsify(delta: Float32Array, density: number, rescale: RescaleMode, key: number): Float32Array {
  if (density >= 1) return delta.slice();
  const out = randomSparsifyChunk(delta, density, rescale === 'inverse', key, 0);
  return rescale === 'l1' && density > 0 ? rescaleL1(delta, out) : out;
}

/** Breadcrumbs' window [n_top, n − n_bot) by descending magnitude for n elements. */
export function outlierWindow(n: number, density: number, gamma: number): [number, number] {
  const target = Math.trunc(density * n);
  let top = Math.trunc(gamma * n);
  let bottom = n - target - top;
  if (bottom < 0) {
    top += bottom;
    bottom = 0;
  }
  return [top, n - bottom];
}

/**
 * Breadcrumbs (`magnitude_outliers`): drop the γ·n largest magnitudes (outliers) and the smallest,
 * keeping int(density·n) in between. Unlike mergekit's `[n_bot:-n_top]` slice, n_top = 0 keeps the
 * top of the window rather than dropping everything.
 */
export function magnitudeOutliersSparsify(delta: Float32Array, density: number, gamma: number, rescale: boolean): Float32Array {
  if (density >= 1) return delta.slice();
  const [from, to] = outlierWindow(delta.length, density, gamma);
  const out = maskByWindow(delta, new RankWindowFilter(rankWindowOf(delta, from, to)));
  return rescale ? rescaleL1(delta, out) : out;
}

/**
 * MAGPRUNE over whole rows of `rowLength` elements, the first at element `offset` of the tensor.
 * Within each row, magnitudes rank ascending 1..m (ties by position) and the element of rank k is
 * kept with probability p_k = (density − ε) + 2ε(k−1)/(m−1) (a one-element row keeps with
 * probability `density`, where mergekit would divide by zero); `inverse` divides by p_k. No L1.
 */
export function dellaSparsifyChunk(delta: Float32Array, density: number, epsilon: number, rowLength: number, inverse: boolean, key: number, offset: number): Float32Array {
  const out = new Float32Array(delta.length);
  if (density <= 0) return out;
  const m = rowLength;
  for (let start = 0; start < delta.length; start += m) {
    const order = ascendingMagnitudeOrder(delta.subarray(start, start + m));
    for (let rank = 0; rank < m; rank++) {
      const i = start + order[rank];
      const p = m === 1 ? density : density - epsilon + (2 * epsilon * rank) / (m - 1);
      if (uniformAt(key, offset + i) < p) out[i] = inverse ? delta[i] / p : delta[i];
    }
  }
  return out;
}

/** DELLA's MAGPRUNE per row of `rowLength` elements, then the chosen rescale (see dellaSparsifyChunk). */
export function dellaSparsify(delta: Float32Array, density: number, epsilon: number, rowLength: number, rescale: RescaleMode, key: number): Float32Array {
  if (density >= 1) return delta.slice();
  const out = dellaSparsifyChunk(delta, density, epsilon, rowLength, rescale === 'inverse', key, 0);
  return rescale === 'l1' && density > 0 ? rescaleL1(delta, out) : out;
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
