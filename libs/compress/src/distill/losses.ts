import { invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

/**
 * PELA's feature distillation: the mean over feature maps f of the mean squared difference between
 * student and teacher, (1/|F|) Σ_f mean((h_f^S − h_f^T)²). Feature maps are `[batch, tokens,
 * hidden]`. With `mask [batch, tokens]` (1 = real token), padded positions are left out of each
 * mean: their hidden states are never read downstream, and counting them would pull the student
 * toward arbitrary values. Gradients reach the teacher side only if it depends on the trained
 * variables, which a frozen teacher does not.
 */
export function featureDistillationLoss(student: readonly tf.Tensor[], teacher: readonly tf.Tensor[], mask?: tf.Tensor): tf.Scalar {
  if (student.length === 0 || student.length !== teacher.length) {
    throw invalidArgument('features', `need the same non-zero number of student and teacher feature maps, got ${student.length} and ${teacher.length}`);
  }
  student.forEach((s, i) => {
    if (s.shape.join() !== teacher[i].shape.join()) {
      throw invalidArgument(`features[${i}]`, `student shape [${s.shape.join(', ')}] differs from teacher shape [${teacher[i].shape.join(', ')}]`);
    }
  });
  if (mask !== undefined && (mask.rank !== 2 || mask.shape[0] !== student[0].shape[0] || mask.shape[1] !== student[0].shape[1])) {
    throw invalidArgument('mask', `must be [batch, tokens] = [${student[0].shape.slice(0, 2).join(', ')}], got [${mask.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const weights = mask === undefined ? undefined : tf.expandDims(tf.cast(mask, 'float32'), -1);
    const perMap = student.map((s, i) => {
      const sq = tf.squaredDifference(s, teacher[i]);
      if (weights === undefined) return tf.mean(sq);
      const hidden = s.shape[s.rank - 1];
      // A batch of nothing but padding contributes 0 rather than NaN.
      return tf.div(tf.sum(tf.mul(sq, weights)), tf.maximum(tf.mul(tf.sum(weights), hidden), 1));
    });
    return tf.div(tf.addN(perMap), perMap.length) as tf.Scalar;
  });
}

/**
 * How the weight-perturbation term treats a layer whose largest error d is already below eps:
 * `squared` is PELA's code, `mse_loss(d, eps)` = (d − eps)², which also pushes d up toward eps;
 * `hinge` is max(0, d − eps)², which leaves such layers alone.
 */
export type PerturbationForm = 'squared' | 'hinge';

export const PERTURBATION_FORMS: readonly PerturbationForm[] = ['squared', 'hinge'];

export interface PerturbationLayer {
  /** `[in, r]`. */
  readonly down: tf.Tensor;
  /** `[r, out]`. */
  readonly up: tf.Tensor;
  /** The dense teacher weight as `[in, out]`. */
  readonly kernel: tf.Tensor;
}

/**
 * PELA's weight-perturbation regulariser: (1/L) Σ_l (d_l − eps)², d_l = max_ij |(down·up − W)_ij|,
 * the entrywise maximum (torch.norm with p=inf over the flattened matrix), not the operator
 * ∞-norm. Its gradient reaches only the argmax entry of each layer, as in the reference code.
 */
export function weightPerturbationLoss(layers: readonly PerturbationLayer[], eps: number, form: PerturbationForm = 'squared'): tf.Scalar {
  if (layers.length === 0) throw invalidArgument('layers', 'need at least one factored layer');
  if (!Number.isFinite(eps) || eps < 0) throw invalidArgument('eps', `must be a finite number >= 0, got ${eps}`);
  if (!PERTURBATION_FORMS.includes(form)) throw invalidArgument('form', `must be one of ${PERTURBATION_FORMS.join(', ')}, got ${JSON.stringify(form)}`);
  return tf.tidy(() => {
    const terms = layers.map(({ down, up, kernel }) => {
      const d = tf.max(tf.abs(tf.sub(tf.matMul(down as tf.Tensor2D, up as tf.Tensor2D), kernel)));
      const gap = tf.sub(d, eps);
      return tf.square(form === 'hinge' ? tf.relu(gap) : gap);
    });
    return tf.div(tf.addN(terms), terms.length) as tf.Scalar;
  });
}
