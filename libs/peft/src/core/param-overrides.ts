import { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

/**
 * Base parameters an adapter trains in full (`modules_to_save`, trainable biases), as variables
 * keyed by canonical parameter key. The forward pass sees them through a view of the base model
 * that shares every other tensor, so gradients reach them and the base stays untouched.
 */
export class ParamOverrides {
  private viewModel: Model | undefined;

  private constructor(readonly variables: ReadonlyMap<string, tf.Variable>) {}

  /** Trainable copies of the base model's current values. */
  static fromBase(model: Model, keys: readonly string[]): ParamOverrides {
    const vars = new Map<string, tf.Variable>();
    for (const key of keys) vars.set(key, tf.variable(model.weights.get(key) as tf.Tensor, true));
    return new ParamOverrides(vars);
  }

  /** Variables holding the given values (copied; the caller keeps its tensors). */
  static fromValues(values: ReadonlyMap<string, tf.Tensor>): ParamOverrides {
    const vars = new Map<string, tf.Variable>();
    for (const [key, t] of values) vars.set(key, tf.variable(t, true));
    return new ParamOverrides(vars);
  }

  get size(): number {
    return this.variables.size;
  }

  has(key: string): boolean {
    return this.variables.has(key);
  }

  /**
   * The model to run: the base itself when nothing is overridden, else a view that substitutes
   * the variables. The view shares the base's tensors and is never disposed (it owns nothing).
   */
  modelFor(base: Model): Model {
    if (this.variables.size === 0) return base;
    if (this.viewModel === undefined) {
      const weights = new Map<string, tf.Tensor>();
      for (const [key, t] of base.weights) weights.set(key, this.variables.get(key) ?? t);
      this.viewModel = Model.create(base.config, weights);
    }
    return this.viewModel;
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.viewModel = undefined;
  }
}
