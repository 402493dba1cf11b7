import { PatchworkError } from '@patchwork/errors';
import type { LinearPatch, LinearPatchSet, LinearSpec } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

/** One factored projection in the kernel view: y = (x·down)·up + b. */
export interface LowRankFactor {
  readonly spec: LinearSpec;
  readonly rank: number;
  /** `[in, r]`. */
  readonly down: tf.Tensor2D;
  /** `[r, out]`. */
  readonly up: tf.Tensor2D;
}

/** `x [..., in]` through the factor pair and the layer's bias, `[..., out]`. */
export function lowRankLinear(spec: LinearSpec, x: tf.Tensor, down: tf.Tensor2D, up: tf.Tensor2D, bias?: tf.Tensor): tf.Tensor {
  const inFeatures = x.shape[x.rank - 1];
  if (inFeatures !== spec.inFeatures) {
    throw new PatchworkError('INVALID_ARGUMENT', `${spec.module}: input has ${inFeatures} features, expected ${spec.inFeatures}`);
  }
  return tf.tidy(() => {
    const y = tf.matMul(tf.matMul(x.reshape([-1, spec.inFeatures]), down), up);
    const yb = bias === undefined ? y : tf.add(y, bias);
    return yb.reshape([...x.shape.slice(0, -1), spec.outFeatures]);
  });
}

/**
 * The patch that turns a dense projection into its low-rank form: it discards the output computed
 * so far and returns x·down·up + bias, so it must come first on its module (later patches, a LoRA
 * say, then add to the low-rank output). The factor is looked up on every call, so swapping the
 * map's tensors (for trainable variables) takes effect without rebuilding the patch.
 */
export function lowRankPatch(module: string, factors: ReadonlyMap<string, LowRankFactor>): LinearPatch {
  return (call) => {
    const f = factors.get(module);
    if (f === undefined) throw new PatchworkError('INTERNAL', `low-rank factors of ${module} are gone (model disposed?)`);
    return lowRankLinear(call.spec, call.x, f.down, f.up, call.bias);
  };
}

/**
 * The low-rank patches of every factored module, followed by the caller's own patches (adapters
 * trained on top of the low-rank model) on any module.
 */
export function lowRankPatchSet(factors: ReadonlyMap<string, LowRankFactor>, extra?: LinearPatchSet): LinearPatchSet {
  const own = new Map<string, LinearPatch>();
  for (const module of factors.keys()) own.set(module, lowRankPatch(module, factors));
  return {
    get(module: string): readonly LinearPatch[] | undefined {
      const first = own.get(module);
      const rest = extra?.get(module);
      if (first === undefined) return rest;
      return rest === undefined || rest.length === 0 ? [first] : [first, ...rest];
    },
  };
}
