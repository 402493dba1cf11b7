import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

/** Per-label row lists of a labelled feature matrix, in first-seen label order. */
export function rowsByLabel(labels: ArrayLike<number>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const rows = out.get(labels[i]);
    if (rows === undefined) out.set(labels[i], [i]);
    else rows.push(i);
  }
  return out;
}

/** Mean of the chosen rows of a `[n, dim]` matrix, in float64. */
export function meanOfRows(features: Float32Array, dim: number, rows: readonly number[]): Float64Array {
  const mean = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < dim; j++) mean[j] += features[r * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= rows.length;
  return mean;
}

/**
 * The training-free classifier of SimpleCIL / MOS: each class is the mean of its training
 * features, and an input scores the cosine similarity to every class mean. Classes only ever get
 * added (class-incremental), in the order given.
 */
export class PrototypeClassifier {
  private readonly labelList: number[] = [];
  private readonly prototypes: Float32Array[] = [];

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw invalidArgument('dim', `must be a positive integer, got ${dim}`);
  }

  /** Labels in score-column order. */
  get classes(): readonly number[] {
    return this.labelList;
  }

  /** The prototype of `label` (a copy). */
  prototype(label: number): Float32Array {
    const i = this.labelList.indexOf(label);
    if (i < 0) throw new PatchworkError('NOT_FOUND', `no prototype for class ${label}`);
    return this.prototypes[i].slice();
  }

  /** Adds one prototype per label present in `labels`, from the matching rows of `features` `[n, dim]`. */
  addClasses(features: Float32Array, labels: ArrayLike<number>): void {
    if (features.length !== labels.length * this.dim) throw invalidArgument('features', `has ${features.length} values for ${labels.length} labels of dimension ${this.dim}`);
    const groups = rowsByLabel(labels);
    for (const label of groups.keys()) {
      if (this.labelList.includes(label)) throw invalidArgument('labels', `class ${label} already has a prototype`);
    }
    for (const [label, rows] of groups) this.setPrototype(label, Float32Array.from(meanOfRows(features, this.dim, rows)));
  }

  /** Adds (or, for restoring a saved classifier, sets) a prototype directly. */
  setPrototype(label: number, prototype: Float32Array): void {
    if (prototype.length !== this.dim) throw invalidArgument('prototype', `has ${prototype.length} values, expected ${this.dim}`);
    const i = this.labelList.indexOf(label);
    if (i >= 0) this.prototypes[i] = prototype.slice();
    else {
      this.labelList.push(label);
      this.prototypes.push(prototype.slice());
    }
  }

  /** Cosine similarities `[n, classes]` of features `[n, dim]` to every prototype. */
  scores(features: tf.Tensor2D): tf.Tensor2D {
    if (this.prototypes.length === 0) throw new PatchworkError('FAILED_PRECONDITION', 'the prototype classifier has no class yet');
    return tf.tidy(() => {
      const flat = new Float32Array(this.prototypes.length * this.dim);
      this.prototypes.forEach((p, i) => flat.set(p, i * this.dim));
      const protos = tf.tensor2d(flat, [this.prototypes.length, this.dim]);
      const unit = (x: tf.Tensor2D) => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12));
      return tf.matMul(unit(features), unit(protos), false, true) as tf.Tensor2D;
    });
  }

  /** The best class label of each row. */
  predict(features: tf.Tensor2D): Int32Array {
    const best = tf.tidy(() => tf.argMax(this.scores(features), 1).dataSync());
    return Int32Array.from(best, (i) => this.labelList[i]);
  }
}
