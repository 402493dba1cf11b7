import { tf } from '@patchwork/tensor';
import { crossEntropy } from '@patchwork/training';
import { outsideTape } from '../core/outside-tape';
import { klToLogits } from '../list/kl';

export interface CompatLossOptions {
  /** Distillation temperature T (the paper's 2). */
  readonly temperature: number;
  /** λ in λ·L_comp + (1 − λ)·CE(z^C, y); 1 = the compatibility loss alone. */
  readonly lambda: number;
}

/**
 * MUSCLE's compatibility loss over a batch of predictions (one per example here; per token for
 * LMs in the paper):
 *   m_i = 1[argmax z^C_i ≠ y_i]                      (where the adapter being trained is wrong,
 *   L_comp = (1/n) Σ_i [ m_i KL(σ(z^{v1}_i/T) ‖ σ(z^C_i/T))      follow the old model,
 *                      + (1 − m_i) KL(σ(z^{v2}_i/T) ‖ σ(z^C_i/T)) ]  elsewhere the new one)
 * with no T² factor (none is stated), and optionally mixed with cross-entropy. The mask is
 * computed off the gradient tape; the teachers' logits must be constants.
 */
export function compatibilityLoss(student: tf.Tensor, oldTeacher: tf.Tensor, newTeacher: tf.Tensor, labels: tf.Tensor, o: CompatLossOptions): tf.Scalar {
  return tf.tidy(() => {
    const [wrong] = outsideTape(() => [tf.cast(tf.notEqual(tf.argMax(student, -1), labels), 'float32')]);
    const scaled = tf.div(student, o.temperature);
    const a1 = klToLogits(tf.softmax(tf.div(oldTeacher, o.temperature), -1), scaled);
    const a2 = klToLogits(tf.softmax(tf.div(newTeacher, o.temperature), -1), scaled);
    const comp = tf.mean(tf.add(tf.mul(wrong, a1), tf.mul(tf.sub(1, wrong), a2)));
    if (o.lambda === 1) return comp as tf.Scalar;
    return tf.add(tf.mul(comp, o.lambda), tf.mul(crossEntropy(student, labels), 1 - o.lambda)) as tf.Scalar;
  });
}
