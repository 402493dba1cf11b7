import { kthLargest } from '@patchwork/tensor';

/**
 * Marks the elements whose rank by magnitude falls in [from, to), where rank 0 is the largest |x|
 * and equal magnitudes rank by position (earlier first). So exactly `to - from` elements are kept,
 * even through ties — the exact top-k of mergekit's and PEFT's trims (whose own tie order is
 * unspecified) and the [n_top, N − n_bot) window of Breadcrumbs. Expected O(n): two exact
 * selections and one scan.
 */
export function rankWindowMask(values: Float32Array, from: number, to: number): Uint8Array {
  const n = values.length;
  const mask = new Uint8Array(n);
  const lo = Math.max(0, from);
  const hi = Math.min(n, to);
  if (hi <= lo) return mask;
  if (lo === 0 && hi === n) return mask.fill(1);
  // a: magnitude at rank lo (the largest kept); b: magnitude at rank hi − 1 (the smallest kept).
  const a = kthLargest(values, lo + 1, { abs: true });
  const b = kthLargest(values, hi, { abs: true });
  let aboveA = 0;
  let aboveB = 0;
  for (let i = 0; i < n; i++) {
    const m = Math.abs(values[i]);
    if (m > a) aboveA++;
    if (m > b) aboveB++;
  }
  let seenA = 0;
  let seenB = 0;
  for (let i = 0; i < n; i++) {
    const m = Math.abs(values[i]);
    if (m < b || m > a) continue;
    let rank: number;
    if (m === a) rank = aboveA + seenA++;
    else if (m === b) rank = aboveB + seenB++;
    else {
      mask[i] = 1;
      continue;
    }
    if (rank >= lo && rank < hi) mask[i] = 1;
  }
  return mask;
}

/** Mask of the k largest magnitudes (ties by position); k <= 0 keeps nothing. */
export function topKMask(values: Float32Array, k: number): Uint8Array {
  return rankWindowMask(values, 0, k);
}
