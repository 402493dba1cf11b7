import { kthLargest } from '@patchwork/tensor';

/**
 * The elements whose rank by magnitude falls in [lo, hi), where rank 0 is the largest |x| and
 * equal magnitudes rank by position (earlier first). So exactly `hi - lo` elements are kept, even
 * through ties — the exact top-k of mergekit's and PEFT's trims (whose own tie order is
 * unspecified) and the [n_top, N − n_bot) window of Breadcrumbs.
 *
 * Described by four numbers, so the window can be found in walks over chunks and applied chunk
 * by chunk: a = the magnitude at rank lo (the largest kept), b = the magnitude at rank hi − 1 (the
 * smallest kept), and how many elements lie strictly above each. Elements strictly between b and a
 * are kept; those equal to a or b are kept by their running position among equals.
 */
export type RankWindow =
  | { kind: 'none' }
  | { kind: 'all' }
  | { kind: 'window'; lo: number; hi: number; a: number; b: number; aboveA: number; aboveB: number };

/** The clamped window [lo, hi) of n elements, with its trivial cases named. */
export function windowBounds(n: number, from: number, to: number): { kind: 'none' | 'all' | 'window'; lo: number; hi: number } {
  const lo = Math.max(0, from);
  const hi = Math.min(n, to);
  if (hi <= lo) return { kind: 'none', lo, hi };
  if (lo === 0 && hi === n) return { kind: 'all', lo, hi };
  return { kind: 'window', lo, hi };
}

/** Decides, element by element in position order, which elements a window keeps. */
export class RankWindowFilter {
  private seenA = 0;
  private seenB = 0;

  constructor(readonly window: RankWindow) {}

  /** Whether the next element (in position order), of magnitude `m`, is kept. */
  keep(m: number): boolean {
    const w = this.window;
    if (w.kind !== 'window') return w.kind === 'all';
    if (m < w.b || m > w.a) return false;
    let rank: number;
    if (m === w.a) rank = w.aboveA + this.seenA++;
    else if (m === w.b) rank = w.aboveB + this.seenB++;
    else return true;
    return rank >= w.lo && rank < w.hi;
  }
}

/** The window of in-memory values: two exact selections and one counting scan, expected O(n). */
export function rankWindowOf(values: Float32Array, from: number, to: number): RankWindow {
  const n = values.length;
  const bounds = windowBounds(n, from, to);
  if (bounds.kind !== 'window') return { kind: bounds.kind };
  const { lo, hi } = bounds;
  const a = kthLargest(values, lo + 1, { abs: true });
  const b = kthLargest(values, hi, { abs: true });
  let aboveA = 0;
  let aboveB = 0;
  for (let i = 0; i < n; i++) {
    const m = Math.abs(values[i]);
    if (m > a) aboveA++;
    if (m > b) aboveB++;
  }
  return { kind: 'window', lo, hi, a, b, aboveA, aboveB };
}

/** Marks the elements whose rank by magnitude falls in [from, to) (see RankWindow). */
export function rankWindowMask(values: Float32Array, from: number, to: number): Uint8Array {
  const mask = new Uint8Array(values.length);
  const filter = new RankWindowFilter(rankWindowOf(values, from, to));
  for (let i = 0; i < values.length; i++) if (filter.keep(Math.abs(values[i]))) mask[i] = 1;
  return mask;
}

/** Mask of the k largest magnitudes (ties by position); k <= 0 keeps nothing. */
export function topKMask(values: Float32Array, k: number): Uint8Array {
  return rankWindowMask(values, 0, k);
}
