import { PatchworkError } from '@patchwork/errors';
import { passStarter, forEachChunk, type ChunkSource } from './chunk-source';
import { bitsView } from './float-order';
import { fromKey, nanError } from './kth-select';
import { assertIntegerInRange } from './validate';

export interface StreamSelectOptions {
  /** Rank by magnitude |x|; the result is then a magnitude. */
  abs?: boolean;
  signal?: AbortSignal;
}

const BINS = 65536;

/**
 * Exact k-th largest value over chunked data of any size (k = 1 is the maximum), in two passes
 * and O(1) memory (two 65,536-bin histograms, 1 MiB): the float bits are mapped to
 * order-preserving 32-bit keys; pass one histograms the top 16 bits and finds the bin holding
 * rank k, pass two histograms the low 16 bits inside that bin only. The result equals what a full
 * sort of all the data would give. Order, -0 and NaN policy as `kthLargest` (NaN: INVALID_ARGUMENT
 * naming its global index). A source whose element count or bin contents change between the
 * passes is rejected with FAILED_PRECONDITION. k beyond the element count: OUT_OF_RANGE.
 */
export async function streamKthLargest(source: ChunkSource, k: number, options: StreamSelectOptions = {}): Promise<number> {
  assertIntegerInRange(k, 1, Number.MAX_SAFE_INTEGER, 'k');
  const [key] = await selectStreamKeys(source, options, (count) => {
    assertIntegerInRange(k, 1, count, 'k');
    return [count - k];
  });
  return fromKey(key, options.abs === true);
}

/** The k-th smallest value of chunked data (k = 1 is the minimum); see `streamKthLargest`. */
export async function streamKthSmallest(source: ChunkSource, k: number, options: StreamSelectOptions = {}): Promise<number> {
  assertIntegerInRange(k, 1, Number.MAX_SAFE_INTEGER, 'k');
  const [key] = await selectStreamKeys(source, options, (count) => {
    assertIntegerInRange(k, 1, count, 'k');
    return [k - 1];
  });
  return fromKey(key, options.abs === true);
}

/**
 * The k-th largest magnitude over chunked data: the trim threshold of global TIES ("keep
 * |τ| >= the k-th largest |τ| over the whole model"). Always non-negative.
 */
export function kthLargestAbs(source: ChunkSource, k: number, options: { signal?: AbortSignal } = {}): Promise<number> {
  return streamKthLargest(source, k, { ...options, abs: true });
}

/**
 * The two-pass radix selection shared by the streaming order statistics. `ranksFor` receives the
 * element count after pass one and returns the 0-based ascending ranks wanted (any number, though
 * each distinct top-16-bit bin among them costs one 512 KiB histogram in pass two).
 */
export async function selectStreamKeys(
  source: ChunkSource,
  options: StreamSelectOptions,
  ranksFor: (count: number) => number[],
): Promise<number[]> {
  const field = 'source';
  const start = passStarter(source, field, true);
  const abs = options.abs === true;

  const coarse = new Float64Array(BINS);
  const count = await forEachChunk(start(), field, options.signal, (chunk, offset) => {
    const bits = bitsView(chunk);
    for (let i = 0; i < bits.length; i++) {
      const x = bits[i];
      if ((x & 0x7fffffff) > 0x7f800000) throw nanError(field, offset + i);
      const key = abs ? x & 0x7fffffff : (x ^ ((x >> 31) | 0x80000000)) >>> 0;
      coarse[key >>> 16]++;
    }
  });
  if (count === 0) {
    throw new PatchworkError('OUT_OF_RANGE', `${field}: holds no elements; there is no k-th value to select`);
  }
  const ranks = ranksFor(count);

  // Locate each rank's top-16-bit bin and the number of elements in lower bins.
  const bins: number[] = [];
  const below: number[] = [];
  for (const rank of ranks) {
    let cumulative = 0;
    let bin = 0;
    while (cumulative + coarse[bin] <= rank) cumulative += coarse[bin++];
    bins.push(bin);
    below.push(cumulative);
  }
  const distinct = [...new Set(bins)];
  const fine = distinct.map(() => new Float64Array(BINS));
  const slotOfBin = new Int32Array(BINS).fill(-1);
  distinct.forEach((bin, slot) => (slotOfBin[bin] = slot));
  const secondCount = await forEachChunk(start(), field, options.signal, (chunk, offset) => {
    const bits = bitsView(chunk);
    for (let i = 0; i < bits.length; i++) {
      const x = bits[i];
      if ((x & 0x7fffffff) > 0x7f800000) throw nanError(field, offset + i);
      const key = abs ? x & 0x7fffffff : (x ^ ((x >> 31) | 0x80000000)) >>> 0;
      const slot = slotOfBin[key >>> 16];
      if (slot >= 0) fine[slot][key & 0xffff]++;
    }
  });
  for (let slot = 0; slot < distinct.length; slot++) {
    let total = 0;
    for (let i = 0; i < BINS; i++) total += fine[slot][i];
    if (secondCount !== count || total !== coarse[distinct[slot]]) {
      throw new PatchworkError(
        'FAILED_PRECONDITION',
        `${field}: the data changed between the two selection passes (${count} then ${secondCount} elements); the source must yield the same values on every pass`,
      );
    }
  }

  return ranks.map((rank, i) => {
    const histogram = fine[slotOfBin[bins[i]]];
    let cumulative = below[i];
    let low = 0;
    while (cumulative + histogram[low] <= rank) cumulative += histogram[low++];
    return ((bins[i] << 16) | low) >>> 0;
  });
}
