import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

/** A fixed toy batch for a causal LM: token ids `[2, 8]` within the vocabulary. */
export function toyTokens(vocab: number): tf.Tensor {
  return tf.tensor2d(
    [
      [1, 5, 9, 3, 7, 2, 8, 4],
      [6, 2, 4, 8, 1, 9, 3, 5],
    ].map((row) => row.map((t) => t % vocab)),
    undefined,
    'int32',
  );
}

/** Next-token cross-entropy of `logits [b, t, v]` against `ids [b, t]`. */
export function nextTokenLoss(logits: tf.Tensor, ids: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const pred = tf.reshape(tf.slice(logits, [0, 0, 0], [b, t - 1, v]), [-1, v]);
    const target = tf.oneHot(tf.reshape(tf.slice(ids, [0, 1], [b, t - 1]), [-1]), v);
    return tf.losses.softmaxCrossEntropy(target, pred) as tf.Scalar;
  });
}

/** The values of every base weight, to prove training left them alone. */
export function snapshot(model: Model): Map<string, Float32Array> {
  return new Map([...model.weights].map(([k, t]) => [k, Float32Array.from(t.dataSync() as Float32Array)]));
}

export function unchanged(model: Model, before: Map<string, Float32Array>): boolean {
  return [...model.weights].every(([k, t]) => {
    const now = t.dataSync();
    const was = before.get(k) as Float32Array;
    return now.length === was.length && now.every((v, i) => v === was[i]);
  });
}

/** `v.assign(t)` then frees `t` (assign keeps its own reference to the data). */
export function assignTo(v: tf.Variable, t: tf.Tensor): void {
  v.assign(t);
  t.dispose();
}

/** `tf.variableGrads` output in the form `optimizer.applyGradients` takes. */
export function asNamed(grads: tf.NamedTensorMap): Array<{ name: string; tensor: tf.Tensor }> {
  return Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
}
