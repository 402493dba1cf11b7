import type { LinearSpec } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

/**
 * Two views of one factorised projection.
 *
 * - Stored view (files, SVD): the weight as the checkpoint stores it, flattened to a matrix
 *   M [rows, cols] (`[out, in]` for nn.Linear and a patch convolution, `[in, out]` for GPT-2's
 *   Conv1D). The pair is `u [rows, r]`, `v [r, cols]` with M ≈ u·v.
 * - Kernel view (forward pass, training): `down [in, r]`, `up [r, out]`, so that y = (x·down)·up + b
 *   with plain matmuls whatever the layout (transposed operands are much slower on wasm).
 *
 * For Conv1D the views coincide; for `[out, in]` weights down = vᵀ and up = uᵀ.
 */
export function storedMatrixShape(spec: LinearSpec): [number, number] {
  return spec.layout === 'in_out' ? [spec.inFeatures, spec.outFeatures] : [spec.outFeatures, spec.inFeatures];
}

/** The stored weight as the matrix M (a reshape for a patch convolution, else the tensor itself). */
export function storedMatrix(spec: LinearSpec, weight: tf.Tensor): tf.Tensor2D {
  return (spec.kind === 'conv2d-patch' ? tf.reshape(weight, storedMatrixShape(spec)) : weight) as tf.Tensor2D;
}

export interface KernelFactors {
  readonly down: tf.Tensor2D;
  readonly up: tf.Tensor2D;
}

export interface StoredFactors {
  readonly u: tf.Tensor2D;
  readonly v: tf.Tensor2D;
}

/** New tensors; the inputs stay the caller's. */
export function kernelFromStored(spec: LinearSpec, u: tf.Tensor2D, v: tf.Tensor2D): KernelFactors {
  if (spec.layout === 'in_out') return { down: tf.clone(u), up: tf.clone(v) };
  return { down: tf.transpose(v), up: tf.transpose(u) };
}

/** New tensors; the inputs stay the caller's. */
export function storedFromKernel(spec: LinearSpec, down: tf.Tensor2D, up: tf.Tensor2D): StoredFactors {
  if (spec.layout === 'in_out') return { u: tf.clone(down), v: tf.clone(up) };
  return { u: tf.transpose(up), v: tf.transpose(down) };
}

/** File shapes of the pair for a weight of `weightShape`: u [shape[0], r], v [r, ...shape[1:]]. */
export function storedFactorShapes(weightShape: readonly number[], rank: number): { u: number[]; v: number[] } {
  return { u: [weightShape[0], rank], v: [rank, ...weightShape.slice(1)] };
}
