import { invalidArgument } from '@patchwork/errors';
import { Prng } from '../random/prng';

/** Where the data stream stands: the epoch and the next position in its permutation. */
export interface DataCursor {
  readonly epoch: number;
  readonly offset: number;
}

/**
 * Generator stream of epoch e's permutation; stream 0 is the batch generator (masking and other
 * per-batch randomness), see `Trainer`.
 */
export function epochStream(epoch: number): number {
  return 1 + epoch;
}

/**
 * The order in which training examples are visited: epoch e is a permutation of 0..n-1 drawn
 * from `Prng.fromSeed(seed, 1 + e)`, and batches are cut from the concatenation of epochs, so
 * every batch is full (one may straddle two epochs). Because each permutation depends only on the
 * seed and the epoch number, the cursor alone restores the stream.
 */
export class DataOrder {
  private permutation: Int32Array;
  private epoch: number;
  private offset: number;

  constructor(
    private readonly seed: number,
    private readonly size: number,
    cursor: DataCursor = { epoch: 0, offset: 0 },
  ) {
    if (!Number.isInteger(size) || size < 1) throw invalidArgument('examples', `must be a positive integer, got ${size}`);
    if (!Number.isInteger(cursor.epoch) || cursor.epoch < 0 || !Number.isInteger(cursor.offset) || cursor.offset < 0 || cursor.offset >= size) {
      throw invalidArgument('cursor', `must have a non-negative epoch and an offset in [0, ${size}), got ${JSON.stringify(cursor)}`);
    }
    this.epoch = cursor.epoch;
    this.offset = cursor.offset;
    this.permutation = this.permutationOf(this.epoch);
  }

  get cursor(): DataCursor {
    return { epoch: this.epoch, offset: this.offset };
  }

  /** Examples consumed so far, in epochs (fractional). */
  get epochsDone(): number {
    return this.epoch + this.offset / this.size;
  }

  /** The next `count` example indices. */
  next(count: number): number[] {
    const out: number[] = [];
    while (out.length < count) {
      out.push(this.permutation[this.offset++]);
      if (this.offset === this.size) {
        this.epoch++;
        this.offset = 0;
        this.permutation = this.permutationOf(this.epoch);
      }
    }
    return out;
  }

  /** Moves back (or forward) to `cursor`. */
  seek(cursor: DataCursor): void {
    if (cursor.epoch !== this.epoch) this.permutation = this.permutationOf(cursor.epoch);
    this.epoch = cursor.epoch;
    this.offset = cursor.offset;
  }

  private permutationOf(epoch: number): Int32Array {
    return Prng.fromSeed(this.seed, epochStream(epoch)).permutation(this.size);
  }
}
