import { invalidArgument } from '@patchwork/errors';
import type { tf } from '@patchwork/tensor';
import { type Reduction, crossEntropy } from './cross-entropy';

/** Sequence / image classification loss: cross-entropy of `logits [B, C]` against int32 `labels [B]`. */
export function classificationLoss(logits: tf.Tensor, labels: tf.Tensor, reduction: Reduction = 'mean'): tf.Scalar {
  if (logits.rank !== 2) throw invalidArgument('logits', `must be [batch, classes], got shape [${logits.shape.join(', ')}]`);
  return crossEntropy(logits, labels, reduction);
}
