import * as tf from '@tensorflow/tfjs';
import { invalidArgument } from '@patchwork/errors';

/** Validates a live rank-2 tensor argument and returns its shape. */
export function assertMatrixTensor(x: unknown, field: string): [number, number] {
  if (!(x instanceof tf.Tensor)) throw invalidArgument(field, 'must be a tf.Tensor2D');
  if (x.isDisposed) throw invalidArgument(field, 'has already been disposed');
  if (x.rank !== 2) throw invalidArgument(field, `must have rank 2, got shape [${x.shape.join(', ')}]`);
  const [m, n] = x.shape as [number, number];
  if (m === 0 || n === 0) throw invalidArgument(field, `must not be empty, got shape [${m}, ${n}]`);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw invalidArgument(field, `must be float32 or int32, got ${x.dtype}`);
  return [m, n];
}
