import type { Model } from '@patchwork/models';
import { baseLinear } from '@patchwork/models';
import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

/** Parameters by canonical key: trainable overrides first, then the frozen base. */
export type WeightLookup = (key: string) => tf.Tensor;

export function weightLookup(model: Model, overrides?: ReadonlyMap<string, tf.Tensor>): WeightLookup {
  return (key) => {
    const t = overrides?.get(key) ?? model.weights.get(key);
    if (t === undefined) throw new PatchworkError('INTERNAL', `model has no parameter ${key}`);
    return t;
  };
}

/** `module`'s projection of `x` with the weights `lookup` gives (no patches). */
export function linearOf(model: Model, module: string, x: tf.Tensor, lookup: WeightLookup): tf.Tensor {
  const spec = model.linears.get(module);
  if (spec === undefined) throw new PatchworkError('INTERNAL', `model has no linear module ${module}`);
  return baseLinear(spec, x, lookup(spec.weightKey), spec.biasKey === undefined ? undefined : lookup(spec.biasKey));
}

/** Rows of `hidden [B, L, H]` at flat positions `at [B]` (`b * L + position`), as `[B, H]`. */
export function rowsAt(hidden: tf.Tensor, at: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.gather(hidden.reshape([-1, hidden.shape[hidden.rank - 1]]), at));
}

/** The first token of each sequence, `[B, L, H] -> [B, H]`. */
export function firstToken(h: tf.Tensor): tf.Tensor {
  const [b, , hidden] = h.shape;
  return tf.tidy(() => tf.slice(h, [0, 0, 0], [b, 1, hidden]).reshape([b, hidden]));
}

/** Keys of the task head that every classification method trains, per architecture. */
export function classifierModules(model: Model): string[] {
  switch (model.modelType) {
    case 'bert':
    case 'vit':
      return ['classifier'];
    case 'roberta':
      return ['classifier.dense', 'classifier.out_proj'];
    default:
      return [];
  }
}

/** Parameter keys (weight and bias) of the given linear modules. */
export function moduleParamKeys(model: Model, modules: readonly string[]): string[] {
  const keys: string[] = [];
  for (const m of modules) {
    const spec = model.linears.get(m);
    if (spec === undefined) throw new PatchworkError('INTERNAL', `model has no linear module ${m}`);
    keys.push(spec.weightKey);
    if (spec.biasKey !== undefined) keys.push(spec.biasKey);
  }
  return keys;
}
