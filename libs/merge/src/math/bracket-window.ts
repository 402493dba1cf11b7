import { RankWindow, rankWindowOf, windowBounds } from './rank-window';

const SAMPLE = 8192;
/** Sample ranks of margin on each side of a target: about 4 standard deviations of a sample quantile. */
const marginOf = (p: number) => Math.ceil(4 * Math.sqrt(SAMPLE * p * (1 - p))) + 8;

/** Counts of one bracketing pass, with the magnitudes inside the bracket copied out. */
export interface ScanResult {
  above: number;
  below: number;
  nan: number;
  /** Magnitudes within [low, high], in the first `count` slots of the buffer given. */
  count: number;
  /** max |x| over all values (NaN when any is NaN). */
  max: number;
}

/**
 * Values ranked by magnitude, seen through what a bracketed selection needs; the values may
 * live anywhere (a typed array, or computed on the fly as θ_i − θ_0 by a kernel).
 */
export interface MagnitudeSource {
  length: number;
  /** The value at one position (for sampling). */
  at(index: number): number;
  /** One pass: |x| > high, |x| < low and NaN counted, magnitudes in [low, high] copied; undefined past the buffer's capacity. */
  scan(low: number, high: number, candidates: Float32Array): ScanResult | undefined;
  /** All values (for the exact fallback). */
  materialize(): Float32Array;
}

export function arraySource(values: Float32Array): MagnitudeSource {
  return {
    length: values.length,
    at: (index) => values[index],
    scan: (low, high, candidates) => {
      let above = 0;
      let below = 0;
      let count = 0;
      let max = -Infinity;
      const capacity = candidates.length;
      for (let j = 0; j < values.length; j++) {
        const m = Math.abs(values[j]);
        if (m > max) max = m;
        if (m > high) above++;
        else if (m < low) below++;
        else if (m >= low) {
          if (count === capacity) return undefined;
          candidates[count++] = m;
        }
      }
      const nan = values.length - above - below - count;
      return { above, below, nan, count, max: nan > 0 ? NaN : max };
    },
    materialize: () => values,
  };
}

interface Located {
  value: number;
  /** Elements with a strictly larger magnitude. */
  above: number;
  /** max |x| seen by the pass. */
  max: number;
}

/**
 * The k-th largest (k >= 1) of non-negative floats, which order like their bit patterns: a
 * three-way quickselect on a Uint32 view, in place.
 */
function kthLargestMagnitude(values: Float32Array, k: number): number {
  const keys = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let lo = 0;
  let hi = keys.length - 1;
  const target = keys.length - k;
  // Past a bounded number of rounds (adversarial pivots) the rest is sorted: O(n log n) at worst.
  for (let rounds = 2 * Math.ceil(Math.log2(keys.length + 1)) + 8; hi > lo; rounds--) {
    if (rounds === 0) {
      keys.subarray(lo, hi + 1).sort();
      break;
    }
    const pivot = keys[(lo + hi) >>> 1];
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
      } else i++;
    }
    if (target < lt) hi = lt - 1;
    else if (target > gt) lo = gt + 1;
    else break;
  }
  return values[target];
}

/**
 * The magnitude at descending rank `rank`, found in one pass: a strided sample brackets it
 * between two sample magnitudes, the pass counts the elements above the bracket and collects
 * those inside, and a selection in that small set finds the value. Undefined when the value fell
 * outside the bracket, the bracket held too many elements (long runs of equal values) or a value
 * is NaN; the caller then selects another way. Exact whenever it answers.
 */
function locate(source: MagnitudeSource, rank: number, sample: Float32Array, candidates: Float32Array): Located | undefined {
  const n = source.length;
  const p = (n - 1 - rank) / Math.max(n - 1, 1);
  const position = p * (sample.length - 1);
  const margin = marginOf(p);
  const lowIndex = Math.floor(position) - margin;
  const highIndex = Math.ceil(position) + margin;
  const low = lowIndex <= 0 ? 0 : sample[lowIndex];
  const high = highIndex >= sample.length - 1 ? Infinity : sample[highIndex];
  const scanned = source.scan(low, high, candidates);
  if (!scanned || scanned.nan > 0) return undefined;
  const { above, count } = scanned;
  const inside = rank - above;
  if (inside < 0 || inside >= count) return undefined;
  const inBracket = candidates.subarray(0, count);
  const value = kthLargestMagnitude(inBracket, inside + 1);
  let larger = 0;
  for (let j = 0; j < count; j++) if (inBracket[j] > value) larger++;
  return { value, above: above + larger, max: scanned.max };
}

/**
 * The rank window of values held whole (see RankWindow): about one pass over the data per window
 * edge instead of `rankWindowOf`'s two selections and a counting scan. Falls back to
 * `rankWindowOf` when sampling cannot bracket an edge, which also rejects NaN.
 */
export function bracketWindowOf(values: Float32Array | MagnitudeSource, from: number, to: number): RankWindow {
  const source = values instanceof Float32Array ? arraySource(values) : values;
  const n = source.length;
  const bounds = windowBounds(n, from, to);
  if (bounds.kind !== 'window') return { kind: bounds.kind };
  if (n < 4 * SAMPLE) return rankWindowOf(source.materialize(), from, to);
  const { lo, hi } = bounds;
  const sample = new Float32Array(SAMPLE);
  for (let i = 0; i < SAMPLE; i++) sample[i] = Math.abs(source.at(Math.floor(((i + 0.5) * n) / SAMPLE)));
  sample.sort();
  const candidates = new Float32Array(Math.max(1 << 16, n >>> 3));
  // A top-k window's upper edge is the maximum, which the lower edge's pass finds on the way.
  const bottom = locate(source, hi - 1, sample, candidates);
  const top: Located | undefined = lo === 0 ? bottom && { value: bottom.max, above: 0, max: bottom.max } : bottom && locate(source, lo, sample, candidates);
  if (!top || !bottom) return rankWindowOf(source.materialize(), from, to);
  return { kind: 'window', lo, hi, a: top.value, b: bottom.value, aboveA: top.above, aboveB: bottom.above };
}
