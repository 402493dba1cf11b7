import { tf } from '@patchwork/tensor';
import type { AdaLoraAdapter } from './adalora-adapter';

/** ‖M − I‖_F, differentiable everywhere (the gradient at exactly zero is zero rather than NaN). */
function frobeniusFromIdentity(m: tf.Tensor): tf.Scalar {
  const eye = tf.eye(m.shape[0]);
  return tf.sqrt(tf.maximum(tf.sum(tf.square(tf.sub(m, eye))), 1e-30)) as tf.Scalar;
}

/**
 * AdaLoRA's orthogonality regulariser as PEFT adds it to the loss: the mean, over every lora_A
 * (Q) and lora_B (P) matrix, of ‖Q Qᵀ − I‖_F and ‖Pᵀ P − I‖_F (Frobenius norm, not squared).
 * Multiply by `orth_reg_weight` and add it to the task loss. A scalar the caller disposes.
 */
export function orthogonalRegularizer(adapter: AdaLoraAdapter): tf.Scalar {
  return tf.tidy(() => {
    const terms: tf.Scalar[] = [];
    for (const layer of adapter.modules.values()) {
      terms.push(frobeniusFromIdentity(tf.matMul(layer.loraA, layer.loraA, false, true)));
      terms.push(frobeniusFromIdentity(tf.matMul(layer.loraB, layer.loraB, true, false)));
    }
    return terms.length === 0 ? tf.scalar(0) : (tf.div(tf.addN(terms), terms.length) as tf.Scalar);
  });
}
