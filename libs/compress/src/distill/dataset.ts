import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { DistillBatch } from './objective';

/** Training data of the intermediate pre-training stage. */
export interface DistillDataset {
  /** Number of examples; batches ask for indices in [0, size). */
  readonly size: number;
  /**
   * The batch of the examples at `indices`. Called inside the training step's tidy scope: the
   * tensors it returns are freed by the trainer.
   */
  batch(indices: readonly number[]): DistillBatch;
}

export interface TensorDatasetInput {
  /** `[N, length]` int32. */
  readonly inputIds?: tf.Tensor;
  readonly attentionMask?: tf.Tensor;
  readonly tokenTypeIds?: tf.Tensor;
  /** `[N, channels, height, width]` float32. */
  readonly pixelValues?: tf.Tensor;
  /** `[N]` class ids or `[N, length]` LM labels, int32. */
  readonly labels?: tf.Tensor;
}

/**
 * A dataset over stacked tensors (one row per example), gathered per batch. Takes ownership of the
 * tensors: `dispose()` frees them.
 */
export function tensorDataset(input: TensorDatasetInput): DistillDataset & { dispose(): void } {
  const entries = Object.entries(input).filter(([, t]) => t !== undefined) as [keyof TensorDatasetInput, tf.Tensor][];
  if (input.inputIds === undefined && input.pixelValues === undefined) throw invalidArgument('inputIds', 'a dataset needs inputIds or pixelValues');
  const size = entries[0][1].shape[0];
  for (const [name, t] of entries) {
    if (!(t instanceof tf.Tensor) || t.rank < 1) throw invalidArgument(name, 'must be a tensor with one row per example');
    if (t.shape[0] !== size) throw invalidArgument(name, `has ${t.shape[0]} rows, expected ${size} like the other tensors`);
    if (name !== 'pixelValues' && t.dtype !== 'int32') throw invalidArgument(name, `must be int32, got ${t.dtype}`);
  }
  if (size < 1) throw invalidArgument('inputIds', 'the dataset is empty');
  let disposed = false;
  return {
    size,
    batch(indices) {
      if (disposed) throw new PatchworkError('FAILED_PRECONDITION', 'dataset has been disposed');
      const rows = tf.tensor1d(Int32Array.from(indices), 'int32');
      const pick = (t?: tf.Tensor): tf.Tensor | undefined => (t === undefined ? undefined : tf.gather(t, rows));
      const batch: DistillBatch = {
        inputs: { inputIds: pick(input.inputIds), attentionMask: pick(input.attentionMask), tokenTypeIds: pick(input.tokenTypeIds), pixelValues: pick(input.pixelValues) },
        labels: pick(input.labels),
      };
      rows.dispose();
      return batch;
    },
    dispose() {
      disposed = true;
      tf.dispose(entries.map(([, t]) => t));
    },
  };
}
