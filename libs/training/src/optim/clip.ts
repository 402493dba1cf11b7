import { invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

export interface ClipResult {
  /** The gradients after clipping (new tensors, the caller's; unchanged ones are clones). */
  readonly grads: Map<string, tf.Tensor>;
  /** The global L2 norm before clipping (what transformers logs as `grad_norm`). */
  readonly norm: number;
}

/** The global L2 norm of all gradients, as one number (one device sync). */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  if (grads.size === 0) return 0;
  return tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
}

/**
 * `torch.nn.utils.clip_grad_norm_`: scales every gradient by min(1, maxNorm / (norm + 1e-6)), where
 * norm is the L2 norm over all of them together. A non-finite norm leaves the gradients as they
 * are (torch would turn them into NaN); the caller sees the norm and decides.
 */
export function clipByGlobalNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): ClipResult {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) throw invalidArgument('maxGradNorm', `must be a positive finite number, got ${maxNorm}`);
  const norm = globalNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) out.set(name, Number.isFinite(norm) && coef < 1 ? tf.tidy(() => tf.mul(g, coef)) : tf.clone(g));
  return { grads: out, norm };
}
