import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { LinearSpec } from './linear-spec';

/** What a patch sees of one linear call. */
export interface LinearCall {
  readonly spec: LinearSpec;
  /** The projection's input, `[..., inFeatures]`. */
  readonly x: tf.Tensor;
  /**
   * The stored weight in its checkpoint layout (see `spec.layout`, `spec.kind`). On a substituted
   * module it is built from the substitute on first read (a dense product), so read it only when needed.
   */
  readonly weight: tf.Tensor;
  readonly bias?: tf.Tensor;
}

/**
 * Changes one linear projection's output: receives the output so far (the base projection, or the
 * previous patch's result) and returns the new one, `[..., outFeatures]`. A LoRA adds
 * `scale * (x A^T) B^T`; a merged delta adds `x ΔW^T`; an observer returns `out` unchanged.
 * Patches run inside the forward pass's `tf.tidy`: anything they want to keep past the pass
 * (recorded activations) they must `tf.keep` or clone-and-keep.
 */
export type LinearPatch = (call: LinearCall, out: tf.Tensor) => tf.Tensor;

/** The patches active on each module, in application order. `Map<string, LinearPatch[]>` fits. */
export interface LinearPatchSet {
  get(module: string): readonly LinearPatch[] | undefined;
}

/**
 * Stands in for a module's dense weight: a projection held in another form (a factor pair, say)
 * that computes the module's output itself, so the model holds no dense weight for it and never
 * forms the dense product. Patches on the module apply after it, as after the base projection.
 */
export interface LinearSubstitute {
  /** `x [..., in]` through the substitute and the module's bias, `[..., out]`. */
  forward(spec: LinearSpec, x: tf.Tensor, bias?: tf.Tensor): tf.Tensor;
  /** The equivalent weight in the checkpoint layout, for patches that read `call.weight`. */
  weight(spec: LinearSpec): tf.Tensor;
}

/**
 * The single seam of every forward pass: architecture code calls `ctx.linear(module, x)` for each
 * projection, never a matMul with a weight of its own, so adapters, merged deltas and surgery
 * edits attach by module name without touching architecture code.
 */
export class ForwardContext {
  constructor(
    private readonly weights: ReadonlyMap<string, tf.Tensor>,
    private readonly specs: ReadonlyMap<string, LinearSpec>,
    private readonly patches?: LinearPatchSet,
    private readonly substitutes?: ReadonlyMap<string, LinearSubstitute>,
  ) {}

  /** A parameter by its checkpoint key (validated at model creation, so a miss is a bug). */
  param(key: string): tf.Tensor {
    const t = this.weights.get(key);
    if (t === undefined) throw new PatchworkError('INTERNAL', `model has no parameter ${key}`);
    return t;
  }

  spec(module: string): LinearSpec {
    const spec = this.specs.get(module);
    if (spec === undefined) throw new PatchworkError('INTERNAL', `model has no linear module ${module}`);
    return spec;
  }

  /** `x [..., in] -> [..., out]` through `module`'s weight (or its substitute), bias and active patches. */
  linear(module: string, x: tf.Tensor): tf.Tensor {
    const spec = this.spec(module);
    const bias = spec.biasKey === undefined ? undefined : this.param(spec.biasKey);
    const substitute = this.substitutes?.get(module);
    let weight = substitute === undefined ? this.param(spec.weightKey) : undefined;
    let out = substitute === undefined ? baseLinear(spec, x, weight as tf.Tensor, bias) : substitute.forward(spec, x, bias);
    const patches = this.patches?.get(module);
    if (patches !== undefined && patches.length > 0) {
      const call: LinearCall = {
        spec,
        x,
        bias,
        get weight(): tf.Tensor {
          weight ??= (substitute as LinearSubstitute).weight(spec);
          return weight;
        },
      };
      for (const patch of patches) out = patch(call, out);
    }
    return out;
  }
}

/** The unpatched projection for any weight layout. */
export function baseLinear(spec: LinearSpec, x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const inFeatures = x.shape[x.rank - 1];
  if (inFeatures !== spec.inFeatures) {
    throw new PatchworkError('INVALID_ARGUMENT', `${spec.module}: input has ${inFeatures} features, expected ${spec.inFeatures}`);
  }
  return tf.tidy(() => {
    const x2 = x.reshape([-1, spec.inFeatures]);
    const w2 = spec.kind === 'conv2d-patch' ? weight.reshape([spec.outFeatures, spec.inFeatures]) : weight;
    const y = tf.matMul(x2, w2, false, spec.layout === 'out_in');
    const yb = bias === undefined ? y : tf.add(y, bias);
    return yb.reshape([...x.shape.slice(0, -1), spec.outFeatures]);
  });
}
