import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { bitsOf, valueOfKey } from '../math/float-keys';

const BINS = 65536;

/** A selected order statistic and the counts around it in its stream's order. */
export interface SelectedValue {
  value: number;
  less: number;
  equal: number;
}

/**
 * Exact order statistics of several data streams that arrive together, chunk by chunk, over two
 * walks — the shape of a whole-model merge, where one read of a tensor from every checkpoint feeds
 * every model's statistics at once. (@patchwork/tensor's `streamKthLargest` pulls one source per
 * call, which would re-read the base and the other models once per stream.)
 *
 * Walk one (`addFirst`) histograms the top 16 bits of each value's order-preserving key; `select`
 * then fixes the requested ranks; walk two (`addSecond`) histograms the low 16 bits inside the
 * bins holding them; `values` returns the exact values a full sort would put at those ranks.
 * Memory: one 512 KiB histogram per stream plus one per distinct (stream, bin) wanted.
 * NaN is refused (it has no rank). -0 ranks just below +0 by value; by magnitude they are equal.
 */
export class MultiStreamSelector {
  private readonly coarse: Float64Array[];
  private readonly counts: number[];
  private wanted: { bin: number; below: number; rank: number }[][] | null = null;
  /** Per stream, one low-bits histogram per wanted bin, indexed by `slotOfBin`. */
  private fine: Float64Array[][] = [];
  private slotOfBin: Int32Array[] = [];
  private secondCounts: number[] = [];

  constructor(
    readonly streams: number,
    private readonly abs: boolean,
    private readonly describe: (stream: number) => string = (s) => `stream ${s}`,
  ) {
    this.coarse = Array.from({ length: streams }, () => new Float64Array(BINS));
    this.counts = new Array<number>(streams).fill(0);
  }

  count(stream: number): number {
    return this.counts[stream];
  }

  addFirst(stream: number, chunk: Float32Array): void {
    if (this.wanted) throw new PatchworkError('INTERNAL', 'MultiStreamSelector: first walk after select()');
    const bits = bitsOf(chunk);
    const histogram = this.coarse[stream];
    // Keys computed inline: a call per element (through module bindings) costs more than the work.
    if (this.abs) {
      for (let i = 0; i < bits.length; i++) {
        const key = bits[i] & 0x7fffffff;
        if (key > 0x7f800000) throw this.nanAt(stream, i);
        histogram[key >>> 16]++;
      }
    } else {
      for (let i = 0; i < bits.length; i++) {
        const x = bits[i];
        if ((x & 0x7fffffff) > 0x7f800000) throw this.nanAt(stream, i);
        histogram[((x ^ ((x >> 31) | 0x80000000)) >>> 0) >>> 16]++;
      }
    }
    this.counts[stream] += chunk.length;
  }

  private nanAt(stream: number, index: number): PatchworkError {
    return invalidArgument(this.describe(stream), `holds NaN at element ${this.counts[stream] + index}; NaN cannot be ranked`);
  }

  /** Fixes the 0-based ascending ranks wanted from each stream (after walk one). */
  select(ranks: number[][]): void {
    this.wanted = ranks.map((list, stream) => {
      const histogram = this.coarse[stream];
      return list.map((rank) => {
        if (!Number.isSafeInteger(rank) || rank < 0 || rank >= this.counts[stream]) {
          throw new PatchworkError('OUT_OF_RANGE', `${this.describe(stream)}: rank ${rank} outside [0, ${this.counts[stream]})`);
        }
        let below = 0;
        let bin = 0;
        while (below + histogram[bin] <= rank) below += histogram[bin++];
        return { bin, below, rank };
      });
    });
    this.fine = this.wanted.map((list) => {
      const bins = [...new Set(list.map((w) => w.bin))];
      return bins.map(() => new Float64Array(BINS));
    });
    this.slotOfBin = this.wanted.map((list) => {
      const slots = new Int32Array(BINS).fill(-1);
      [...new Set(list.map((w) => w.bin))].forEach((bin, slot) => (slots[bin] = slot));
      return slots;
    });
    this.secondCounts = new Array<number>(this.streams).fill(0);
  }

  addSecond(stream: number, chunk: Float32Array): void {
    if (!this.wanted) throw new PatchworkError('INTERNAL', 'MultiStreamSelector: second walk before select()');
    const bits = bitsOf(chunk);
    const slots = this.slotOfBin[stream];
    const fine = this.fine[stream];
    const abs = this.abs;
    for (let i = 0; i < bits.length; i++) {
      const x = bits[i];
      const key = abs ? x & 0x7fffffff : (x ^ ((x >> 31) | 0x80000000)) >>> 0;
      const slot = slots[key >>> 16];
      if (slot >= 0) fine[slot][key & 0xffff]++;
    }
    this.secondCounts[stream] += chunk.length;
  }

  /** The selected values, per stream in the order their ranks were given. */
  values(): number[][] {
    return this.details().map((list) => list.map((d) => d.value));
  }

  /**
   * The selected values with how many elements of their stream order strictly below them
   * (`less`) and equal to them (`equal`), which positional tie-breaking needs.
   */
  details(): SelectedValue[][] {
    if (!this.wanted) throw new PatchworkError('INTERNAL', 'MultiStreamSelector: details() before select()');
    return this.wanted.map((list, stream) =>
      list.map(({ bin, below, rank }) => {
        const histogram = this.fine[stream][this.slotOfBin[stream][bin]];
        let total = 0;
        for (let i = 0; i < BINS; i++) total += histogram[i];
        if (total !== this.coarse[stream][bin] || this.secondCounts[stream] !== this.counts[stream]) {
          throw new PatchworkError('FAILED_PRECONDITION', `${this.describe(stream)}: the data changed between the two walks of exact selection`);
        }
        let cumulative = below;
        let low = 0;
        while (cumulative + histogram[low] <= rank) cumulative += histogram[low++];
        return { value: valueOfKey(((bin << 16) | low) >>> 0, this.abs), less: cumulative, equal: histogram[low] };
      }),
    );
  }
}
