import { PatchworkError } from '@patchwork/errors';
import { type Batch, type EncodedRows, batchOf, rowCount, selectRows } from './encoded-inputs';

/** Encoded examples with their labels and stable ids (for per-sample logs and flip metrics). */
export class ExampleSet {
  constructor(
    readonly rows: EncodedRows,
    readonly labels: Int32Array,
    readonly exampleIds: readonly string[],
    readonly numLabels: number,
  ) {
    const n = rowCount(rows);
    if (labels.length !== n || exampleIds.length !== n) {
      throw new PatchworkError('INTERNAL', `example set has ${n} rows, ${labels.length} labels and ${exampleIds.length} ids`);
    }
  }

  get size(): number {
    return this.labels.length;
  }

  /** Tensors for the examples at `indices`; the caller disposes them (`disposeBatch`). */
  batch(indices: readonly number[]): Batch {
    return batchOf(this.rows, this.labels, indices);
  }

  subset(indices: readonly number[]): ExampleSet {
    return new ExampleSet(
      selectRows(this.rows, indices),
      Int32Array.from(indices, (i) => this.labels[i]),
      indices.map((i) => this.exampleIds[i]),
      this.numLabels,
    );
  }

  /** The first `n` examples (all when `n` is undefined or larger). */
  head(n: number | undefined): ExampleSet {
    if (n === undefined || n >= this.size) return this;
    return this.subset(Array.from({ length: n }, (_, i) => i));
  }
}
