import { tf } from '@patchwork/tensor';

/** torch `nn.LayerNorm` over the last axis: biased variance, eps inside the square root. */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    const scaled = tf.mul(normed, weight);
    return bias === undefined ? scaled : tf.add(scaled, bias);
  });
}

/** Llama's RMSNorm: x / sqrt(mean(x^2) + eps), then times the weight. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const meanSquare = tf.mean(tf.square(x), -1, true);
    return tf.mul(weight, tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))));
  });
}
