import type { LinearSpec } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

/** A stored weight viewed as `[out, in]` (torch `nn.Linear` layout), whatever its storage. */
export function asOutIn(spec: LinearSpec, weight: tf.Tensor): tf.Tensor {
  if (spec.layout === 'in_out') return tf.transpose(weight);
  if (spec.kind === 'conv2d-patch') return tf.reshape(weight, [spec.outFeatures, spec.inFeatures]);
  return weight;
}

/**
 * An `[out, in]` matrix in the weight's storage layout: transposed for Conv1D (PEFT's
 * `fan_in_fan_out`), reshaped to `[out, channels, kh, kw]` for a patch convolution.
 */
export function toStored(spec: LinearSpec, outIn: tf.Tensor, storedShape: readonly number[]): tf.Tensor {
  if (spec.layout === 'in_out') return tf.transpose(outIn);
  if (spec.kind === 'conv2d-patch') return tf.reshape(outIn, [...storedShape]);
  return outIn;
}

/** `x [..., in]` flattened to rows `[n, in]`. */
export function rows(spec: LinearSpec, x: tf.Tensor): tf.Tensor {
  return tf.reshape(x, [-1, spec.inFeatures]);
}
