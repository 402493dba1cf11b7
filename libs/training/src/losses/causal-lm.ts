import { invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import { IGNORE_INDEX, type Reduction, crossEntropy } from './cross-entropy';

/**
 * Labels for causal-LM training from token ids: the ids themselves, with padding
 * (`attentionMask == 0`) set to {@link IGNORE_INDEX}, as transformers' language-modeling collator does.
 */
export function causalLmLabels(inputIds: tf.Tensor, attentionMask?: tf.Tensor): tf.Tensor {
  if (inputIds.rank !== 2 || inputIds.dtype !== 'int32') throw invalidArgument('inputIds', `must be int32 [batch, length], got ${inputIds.dtype} [${inputIds.shape.join(', ')}]`);
  if (attentionMask === undefined) return tf.clone(inputIds);
  if (attentionMask.shape.join() !== inputIds.shape.join()) {
    throw invalidArgument('attentionMask', `must have the shape of inputIds [${inputIds.shape.join(', ')}], got [${attentionMask.shape.join(', ')}]`);
  }
  return tf.tidy(() => tf.where(tf.notEqual(attentionMask, 0), inputIds, tf.fill(inputIds.shape, IGNORE_INDEX, 'int32')));
}

/**
 * transformers' causal-LM loss: position t of `logits [B, L, V]` predicts `labels[:, t+1]`, so
 * the last logit and the first label drop out; labels equal to {@link IGNORE_INDEX} do not count.
 * `mean` averages over every counted token of the batch.
 */
export function causalLmLoss(logits: tf.Tensor, labels: tf.Tensor, reduction: Reduction = 'mean'): tf.Scalar {
  if (logits.rank !== 3) throw invalidArgument('logits', `must be [batch, length, vocab], got shape [${logits.shape.join(', ')}]`);
  const [b, length, vocab] = logits.shape as [number, number, number];
  if (labels.rank !== 2 || labels.shape[0] !== b || labels.shape[1] !== length) {
    throw invalidArgument('labels', `must be [${b}, ${length}] to match logits, got shape [${labels.shape.join(', ')}]`);
  }
  if (length < 2) throw invalidArgument('logits', 'needs at least 2 positions for a next-token loss');
  return tf.tidy(() => {
    const predicted = tf.slice(logits, [0, 0, 0], [b, length - 1, vocab]).reshape([-1, vocab]);
    const targets = tf.slice(labels, [0, 1], [b, length - 1]).reshape([-1]);
    return crossEntropy(predicted, targets, reduction);
  });
}
