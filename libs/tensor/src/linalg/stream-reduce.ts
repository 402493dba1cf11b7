import { forEachChunk, passStarter, type ChunkSource } from './chunk-source';
import { nanError } from './kth-select';

/** One-pass summary of data; an empty input gives the identities (count 0, min +∞, max −∞). */
export interface ChunkStats {
  count: number;
  /** Σx, Float64 with compensated (Neumaier) accumulation across blocks of 1024 elements. */
  sum: number;
  /** Σx², accumulated the same way; sqrt of it is the L2 norm. */
  sumOfSquares: number;
  min: number;
  max: number;
  /** max |x|; 0 for empty input. */
  absMax: number;
}

const BLOCK = 1024;

/**
 * Accumulates statistics chunk by chunk without keeping any chunk, so a caller can stream a
 * checkpoint through it (and reuse its read buffer between chunks). NaN is rejected with
 * INVALID_ARGUMENT naming its position, consistently with the selection routines.
 */
export class StatsAccumulator {
  private count = 0;
  private sum = 0;
  private sumCompensation = 0;
  private squares = 0;
  private squaresCompensation = 0;
  private min = Infinity;
  private max = -Infinity;

  add(chunk: Float32Array, field = 'values'): this {
    for (let start = 0; start < chunk.length; start += BLOCK) {
      const end = Math.min(start + BLOCK, chunk.length);
      let blockSum = 0;
      let blockSquares = 0;
      let min = this.min;
      let max = this.max;
      for (let i = start; i < end; i++) {
        const x = chunk[i];
        if (x !== x) throw nanError(field, this.count + i);
        blockSum += x;
        blockSquares += x * x;
        if (x < min) min = x;
        if (x > max) max = x;
      }
      this.min = min;
      this.max = max;
      [this.sum, this.sumCompensation] = neumaier(this.sum, this.sumCompensation, blockSum);
      [this.squares, this.squaresCompensation] = neumaier(this.squares, this.squaresCompensation, blockSquares);
    }
    this.count += chunk.length;
    return this;
  }

  result(): ChunkStats {
    return {
      count: this.count,
      sum: this.sum + this.sumCompensation,
      sumOfSquares: this.squares + this.squaresCompensation,
      min: this.min,
      max: this.max,
      absMax: this.count === 0 ? 0 : Math.max(Math.abs(this.min), Math.abs(this.max)),
    };
  }
}

/** Statistics of one in-memory array. */
export function chunkStats(values: Float32Array): ChunkStats {
  return new StatsAccumulator().add(values).result();
}

/** Statistics over a chunked source (single pass; one-shot iterators are fine here). */
export async function streamStats(source: ChunkSource, options: { signal?: AbortSignal } = {}): Promise<ChunkStats> {
  const acc = new StatsAccumulator();
  // The accumulator's running count is the chunk's global offset, so NaN errors name global indices.
  await forEachChunk(passStarter(source, 'source', false)(), 'source', options.signal, (chunk) => void acc.add(chunk, 'source'));
  return acc.result();
}

/** Combines the statistics of two disjoint parts (for example per-shard results). */
export function mergeStats(a: ChunkStats, b: ChunkStats): ChunkStats {
  const [sum, sumC] = neumaier(a.sum, 0, b.sum);
  const [squares, squaresC] = neumaier(a.sumOfSquares, 0, b.sumOfSquares);
  return {
    count: a.count + b.count,
    sum: sum + sumC,
    sumOfSquares: squares + squaresC,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    absMax: Math.max(a.absMax, b.absMax),
  };
}

export function meanOfStats(stats: ChunkStats): number {
  return stats.count === 0 ? Number.NaN : stats.sum / stats.count;
}

export function l2NormOfStats(stats: ChunkStats): number {
  return Math.sqrt(stats.sumOfSquares);
}

function neumaier(sum: number, compensation: number, x: number): [number, number] {
  const t = sum + x;
  const c = Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
  return [t, compensation + c];
}
