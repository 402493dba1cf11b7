import * as tf from '@tensorflow/tfjs';
import { qr, type QrOptions } from './qr';
import { assertMatrixTensor } from './tensor-input';

/**
 * `qr` for a tf.Tensor2D: reads the values (asynchronously, so it works on every backend),
 * factors them in Float64 and returns float32 tensors that the caller owns and must dispose.
 * Unlike `tf.linalg.qr` (float32, built from many small ops), Q is orthonormal to Float64
 * precision before the final rounding and R's diagonal is non-negative.
 */
export async function qrTensor(x: tf.Tensor2D, options: QrOptions = {}): Promise<{ q: tf.Tensor2D; r: tf.Tensor2D }> {
  const [m, n] = assertMatrixTensor(x, 'x');
  const values = await x.data();
  const { q, r, qColumns } = qr(Float64Array.from(values), m, n, options);
  return { q: tf.tensor2d(Float32Array.from(q), [m, qColumns]), r: tf.tensor2d(Float32Array.from(r), [qColumns, n]) };
}
