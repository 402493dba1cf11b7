import { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { classifierModules } from '../heads/weights';

/** transformers' `initializer_range` default: classifier weights start N(0, 0.02²), biases at 0. */
export const HEAD_INIT_STD = 0.02;

export interface FittedModel {
  /** The model to train: the base itself, or a view of it with a fresh classifier of the task's size. */
  readonly model: Model;
  /** Whether the classifier was replaced. */
  readonly reinitialised: boolean;
  /** Frees the fresh classifier tensors (the base stays the caller's). */
  dispose(): void;
}

/**
 * The base with a classifier of `labelNames.length` outputs. A base whose head has another size
 * gets a freshly initialised final projection (seeded), as transformers does when a checkpoint is
 * loaded with another `num_labels` (`ignore_mismatched_sizes`); every other tensor is shared with
 * the base. The trained head is saved with the adapter (modules_to_save), so the adapter is
 * applied to the base loaded with the task's num_labels.
 */
export function fitClassifier(base: Model, labelNames: readonly string[], seed: number): FittedModel {
  const modules = classifierModules(base);
  const last = modules[modules.length - 1];
  const spec = last === undefined ? undefined : base.linears.get(last);
  const n = labelNames.length;
  if (spec === undefined || spec.outFeatures === n) return { model: base, reinitialised: false, dispose: () => undefined };
  const weight = tf.randomNormal([n, spec.inFeatures], 0, HEAD_INIT_STD, 'float32', seed);
  const bias = tf.zeros([n]);
  const weights = new Map<string, tf.Tensor>();
  for (const [key, t] of base.weights) weights.set(key, t);
  weights.set(spec.weightKey, weight);
  if (spec.biasKey !== undefined) weights.set(spec.biasKey, bias);
  const config = {
    ...base.config,
    num_labels: n,
    id2label: Object.fromEntries(labelNames.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labelNames.map((l, i) => [l, i])),
  };
  // The view is never disposed: it shares the base's tensors; only the new head is its own.
  const model = Model.create(config, weights);
  return { model, reinitialised: true, dispose: () => tf.dispose([weight, bias]) };
}
