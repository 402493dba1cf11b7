import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { SeededRandom, tf } from '@patchwork/tensor';

export const HEAD_WEIGHT = 'head.weight';
export const HEAD_BIAS = 'head.bias';

/**
 * The class-incremental linear head (`[classes, dim]` weight, torch layout, plus bias). It grows by
 * whole tasks; earlier columns keep their values. Owns its variables.
 */
export class LinearHead {
  private weight: tf.Variable | undefined;
  private bias: tf.Variable | undefined;
  private classes = 0;
  private readonly rng: SeededRandom;

  constructor(
    readonly dim: number,
    seed = 0,
  ) {
    if (!Number.isInteger(dim) || dim < 1) throw invalidArgument('dim', `must be a positive integer, got ${dim}`);
    this.rng = new SeededRandom(seed);
  }

  get numClasses(): number {
    return this.classes;
  }

  /** Adds `count` classes; their rows start kaiming-uniform for a linear layer (U(±√3/√dim)), biases zero. */
  grow(count: number): void {
    if (!Number.isInteger(count) || count < 1) throw invalidArgument('count', `must be a positive integer, got ${count}`);
    const bound = Math.sqrt(3 / this.dim);
    const fresh = this.rng.fillUniform(new Float32Array(count * this.dim), -bound, bound);
    const old = this.toArrays();
    const weight = new Float32Array((this.classes + count) * this.dim);
    const bias = new Float32Array(this.classes + count);
    if (old !== undefined) {
      weight.set(old.weight);
      bias.set(old.bias);
    }
    weight.set(fresh, this.classes * this.dim);
    this.setArrays(weight, bias);
  }

  /** Replaces every value (restoring a saved head): `weight [classes, dim]`, `bias [classes]`. */
  setArrays(weight: Float32Array, bias: Float32Array): void {
    const classes = bias.length;
    if (classes < 1 || weight.length !== classes * this.dim) throw invalidArgument('head', `weight has ${weight.length} values for ${classes} classes of dimension ${this.dim}`);
    this.weight?.dispose();
    this.bias?.dispose();
    const w = tf.tensor2d(weight, [classes, this.dim]);
    const b = tf.tensor1d(bias);
    // tf.variable shares the initial tensors' data; the initial tensors themselves must still be freed.
    this.weight = tf.variable(w, true);
    this.bias = tf.variable(b, true);
    tf.dispose([w, b]);
    this.classes = classes;
  }

  toArrays(): { weight: Float32Array; bias: Float32Array } | undefined {
    if (this.weight === undefined || this.bias === undefined) return undefined;
    return { weight: Float32Array.from(this.weight.dataSync() as Float32Array), bias: Float32Array.from(this.bias.dataSync() as Float32Array) };
  }

  namedVariables(): Map<string, tf.Variable> {
    if (this.weight === undefined || this.bias === undefined) throw new PatchworkError('FAILED_PRECONDITION', 'the head has no class yet');
    return new Map([
      [HEAD_WEIGHT, this.weight],
      [HEAD_BIAS, this.bias],
    ]);
  }

  /** `features [n, dim] -> logits [n, classes]`. */
  logits(features: tf.Tensor2D): tf.Tensor2D {
    const vars = this.namedVariables();
    return tf.tidy(() => tf.add(tf.matMul(features, vars.get(HEAD_WEIGHT) as tf.Variable, false, true), vars.get(HEAD_BIAS) as tf.Variable) as tf.Tensor2D);
  }

  dispose(): void {
    this.weight?.dispose();
    this.bias?.dispose();
    this.weight = undefined;
    this.bias = undefined;
    this.classes = 0;
  }
}
