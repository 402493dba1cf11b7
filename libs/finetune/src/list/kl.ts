import { tf } from '@patchwork/tensor';

/** Per-row KL(q ‖ softmax(logits)) for target distributions `q [N, C]` (0·log 0 = 0). */
export function klToLogits(q: tf.Tensor, logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const logQ = tf.log(tf.maximum(q, 1e-30));
    return tf.sum(tf.mul(q, tf.sub(logQ, tf.logSoftmax(logits, -1))), -1);
  });
}
