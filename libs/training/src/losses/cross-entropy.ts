import { invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

/** Label value that contributes nothing to a loss (PyTorch's `ignore_index` default). */
export const IGNORE_INDEX = -100;

export type Reduction = 'mean' | 'sum';

/**
 * Cross-entropy of `logits [N, C]` against int32 `labels [N]`, skipping labels equal to
 * {@link IGNORE_INDEX}. `mean` divides by the number of counted labels (like
 * `torch.nn.CrossEntropyLoss`), except that a batch with none counted gives 0 rather than NaN, so
 * an accumulation step over a fully padded micro-batch adds nothing instead of poisoning the run.
 * Computed as −Σ log_softmax(logits) · one_hot(label): stable for large logits, and the one-hot
 * factor is a constant, so the backward pass needs no gather gradient.
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor, reduction: Reduction = 'mean'): tf.Scalar {
  if (logits.rank !== 2) throw invalidArgument('logits', `must be [N, classes], got shape [${logits.shape.join(', ')}]`);
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw invalidArgument('labels', `must be [${logits.shape[0]}] to match logits, got shape [${labels.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'int32') throw invalidArgument('labels', `must be int32, got ${labels.dtype}`);
  const classes = logits.shape[1] as number;
  return tf.tidy(() => {
    const counted = tf.notEqual(labels, IGNORE_INDEX);
    const safe = tf.where(counted, labels, tf.zerosLike(labels));
    const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(safe, classes)), -1);
    const weights = tf.cast(counted, 'float32');
    const total = tf.neg(tf.sum(tf.mul(picked, weights)));
    if (reduction === 'sum') return total as tf.Scalar;
    return tf.div(total, tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
  });
}

/** The number of labels a loss counts (those not equal to {@link IGNORE_INDEX}). */
export function countedLabels(labels: Int32Array | readonly number[]): number {
  let n = 0;
  for (const l of labels) if (l !== IGNORE_INDEX) n++;
  return n;
}
