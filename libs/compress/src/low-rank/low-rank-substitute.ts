import { PatchworkError } from '@patchwork/errors';
import type { LinearSpec, LinearSubstitute } from '@patchwork/models';
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
 * The models library's stand-in for the dense weight of every factored module: the model holds no
 * dense weight for them and computes only (x·down)·up + b. Factors are looked up by module on every
 * call, so replacing the map's tensors (trainable variables) takes effect without rebuilding the
 * model. `weightShape` gives a module's checkpoint weight shape, for patches that read `call.weight`
 * (the product is then formed for them, and only then).
 */
export function lowRankSubstitute(factors: ReadonlyMap<string, LowRankFactor>, weightShape: (spec: LinearSpec) => readonly number[]): LinearSubstitute {
  const factorOf = (spec: LinearSpec): LowRankFactor => {
    const f = factors.get(spec.module);
    if (f === undefined) throw new PatchworkError('INTERNAL', `low-rank factors of ${spec.module} are gone (model disposed?)`);
    return f;
  };
  return {
    forward: (spec, x, bias) => {
      const f = factorOf(spec);
      return lowRankLinear(spec, x, f.down, f.up, bias);
    },
    weight: (spec) => {
      const f = factorOf(spec);
      return tf.tidy(() => {
        const kernel = tf.matMul(f.down, f.up);
        return tf.reshape(spec.layout === 'in_out' ? kernel : tf.transpose(kernel), [...weightShape(spec)]);
      });
    },
  };
}
