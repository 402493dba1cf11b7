import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { Model, ModelInputs } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { causalLmLabels, causalLmLoss, classificationLoss } from '@patchwork/training';
import type { LowRankModel } from '../low-rank/low-rank-model';
import { PERTURBATION_FORMS, type PerturbationForm, featureDistillationLoss, weightPerturbationLoss } from './losses';

/** One batch of the intermediate pre-training data. */
export interface DistillBatch {
  readonly inputs: ModelInputs;
  /**
   * Class ids `[batch]` for classifiers, or next-token labels `[batch, length]` for causal LMs
   * (default: the input ids with padding ignored). A classifier batch without labels has no task term.
   */
  readonly labels?: tf.Tensor;
}

/** Weights of the three terms: total = taskWeight·task + alpha·FD + beta·WP. */
export interface DistillWeights {
  readonly taskWeight: number;
  /** Feature distillation (PELA: 1.0 for vision, 0.1 for ALBEF). */
  readonly alpha: number;
  /** Weight perturbation (PELA: 0 for DeiT, 1 for Swin and ALBEF). */
  readonly beta: number;
  /** Target of the largest entry error (PELA: 1e-3; 0 for Swin). */
  readonly eps: number;
  readonly perturbationForm: PerturbationForm;
}

/**
 * Defaults: the full objective of the issue with PELA's ALBEF settings for the regulariser
 * (beta 1, eps 1e-3, which the reference code applies as (d − eps)²) and FD weight 1 (its vision
 * runs).
 */
export const DISTILL_WEIGHT_DEFAULTS: DistillWeights = { taskWeight: 1, alpha: 1, beta: 1, eps: 1e-3, perturbationForm: 'squared' };

/** Validates weights, reporting every problem under `${field}.<name>`. */
export function checkDistillWeights(w: DistillWeights, field: string, problems: ViolationCollector): void {
  for (const key of ['taskWeight', 'alpha', 'beta', 'eps'] as const) {
    const v = w[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) problems.add(`${field}.${key}`, `must be a finite number >= 0, got ${String(v)}`);
  }
  if (!PERTURBATION_FORMS.includes(w.perturbationForm)) problems.add(`${field}.perturbationForm`, `must be one of ${PERTURBATION_FORMS.join(', ')}, got ${JSON.stringify(w.perturbationForm)}`);
}

export interface DistillTerms {
  readonly total: tf.Scalar;
  /** null when its weight is 0 (the term is then not computed at all) or a classifier batch has no labels. */
  readonly task: tf.Scalar | null;
  readonly featureDistill: tf.Scalar | null;
  readonly weightPerturbation: tf.Scalar | null;
}

export interface DistillContext {
  /** The frozen dense model. */
  readonly teacher: Model;
  readonly student: LowRankModel;
  /** Each factored module's dense teacher weight as `[in, out]` (see teacherKernels). */
  readonly kernels: ReadonlyMap<string, tf.Tensor>;
  readonly weights: DistillWeights;
}

function taskLoss(logits: tf.Tensor, batch: DistillBatch): tf.Scalar | null {
  if (logits.rank === 3) {
    const ids = batch.inputs.inputIds;
    if (batch.labels !== undefined) return causalLmLoss(logits, batch.labels);
    if (ids === undefined) throw new PatchworkError('INVALID_ARGUMENT', 'batch.inputs.inputIds: a language model batch needs token ids');
    return causalLmLoss(logits, causalLmLabels(ids, batch.inputs.attentionMask));
  }
  return batch.labels === undefined ? null : classificationLoss(logits, batch.labels);
}

/**
 * The intermediate pre-training objective on one batch, differentiable with respect to the
 * student's variables: taskWeight·task + alpha·FD + beta·WP, where FD compares the output of every
 * block (`hidden_states[1..L]`, all real tokens) and WP is PELA's max-entry regulariser over every
 * factored layer. Terms whose weight is 0 are skipped, and so is the teacher's forward pass when
 * alpha is 0. Returns every term for reporting; call inside a tidy scope (the trainer's).
 */
export function distillObjective(ctx: DistillContext, batch: DistillBatch): DistillTerms {
  const { teacher, student, kernels, weights } = ctx;
  const needFeatures = weights.alpha > 0;
  const out = student.forward(batch.inputs, { outputHiddenStates: needFeatures });
  let total = tf.scalar(0);
  const add = (term: tf.Scalar | null, weight: number): void => {
    if (term !== null) total = tf.add(total, tf.mul(term, weight));
  };
  const task = weights.taskWeight > 0 ? taskLoss(out.logits, batch) : null;
  add(task, weights.taskWeight);
  let featureDistill: tf.Scalar | null = null;
  if (needFeatures) {
    const reference = teacher.forward(batch.inputs, { outputHiddenStates: true });
    const s = (out.hiddenStates as tf.Tensor[]).slice(1);
    const t = (reference.hiddenStates as tf.Tensor[]).slice(1);
    featureDistill = featureDistillationLoss(s, t, student.inputKind === 'tokens' ? batch.inputs.attentionMask : undefined);
    add(featureDistill, weights.alpha);
  }
  let weightPerturbation: tf.Scalar | null = null;
  if (weights.beta > 0) {
    const layers = [...student.factors].map(([module, f]) => {
      const kernel = kernels.get(module);
      if (kernel === undefined) throw new PatchworkError('INTERNAL', `no teacher kernel for ${module}`);
      return { down: f.down, up: f.up, kernel };
    });
    weightPerturbation = weightPerturbationLoss(layers, weights.eps, weights.perturbationForm);
    add(weightPerturbation, weights.beta);
  }
  return { total, task, featureDistill, weightPerturbation };
}

/**
 * Each factored module's teacher weight in the kernel view `[in, out]`, which the WP term compares
 * with down·up: the weight itself for Conv1D, a transposed copy for `[out, in]` weights. Returns
 * the map and the copies to dispose when training ends.
 */
export function teacherKernels(teacher: Model, student: LowRankModel): { kernels: Map<string, tf.Tensor>; copies: tf.Tensor[] } {
  const kernels = new Map<string, tf.Tensor>();
  const copies: tf.Tensor[] = [];
  for (const [module, f] of student.factors) {
    const spec = teacher.linears.get(module);
    const weight = spec === undefined ? undefined : teacher.weights.get(spec.weightKey);
    if (spec === undefined || weight === undefined || spec.inFeatures !== f.spec.inFeatures || spec.outFeatures !== f.spec.outFeatures) {
      tf.dispose(copies);
      throw new PatchworkError('FAILED_PRECONDITION', `teacher has no ${f.spec.inFeatures}->${f.spec.outFeatures} projection ${module}: it is not the dense model the student was factored from`);
    }
    if (spec.layout === 'in_out') kernels.set(module, weight);
    else {
      const k = tf.tidy(() => tf.transpose(tf.reshape(weight, [spec.outFeatures, spec.inFeatures])));
      copies.push(k);
      kernels.set(module, k);
    }
  }
  return { kernels, copies };
}
