import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type AdamWOptions, type CheckpointOptions, type ExtraState, type ScheduleOptions, type TrainProgress, train } from '@patchwork/training';
import type { LowRankModel, TrainableScope } from '../low-rank/low-rank-model';
import type { DistillDataset } from './dataset';
import { DISTILL_WEIGHT_DEFAULTS, type DistillWeights, checkDistillWeights, distillObjective, teacherKernels } from './objective';
import { TermRecorder, type TermValues } from './term-recorder';

export interface DistillOptions extends Partial<DistillWeights> {
  readonly dataset: DistillDataset;
  /** Optimizer steps. */
  readonly steps: number;
  /** Examples per micro-batch (default 8). */
  readonly batchSize?: number;
  readonly gradientAccumulationSteps?: number;
  /** Default AdamW lr 2.5e-4, weight decay 0.05 (PELA's DeiT-B recipe: 5e-4 × 256/512, wd 0.05). */
  readonly optimizer?: AdamWOptions;
  /** Default cosine with 5% warmup. */
  readonly schedule?: ScheduleOptions;
  /** Default 1.0; 0 turns clipping off. */
  readonly maxGradNorm?: number;
  /** `factors` (default): only the factor pairs train. `all`: every student parameter, as PELA's code does. */
  readonly trainable?: TrainableScope;
  /** Checkpoints for resume (the trainer's `checkpoint-<step>/` folders). */
  readonly checkpoint?: CheckpointOptions;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DistillProgress) => void;
  /** Report every this many steps (and at the end). Default 1. */
  readonly progressEvery?: number;
}

export interface DistillProgress extends TrainProgress {
  /** Means of the unweighted terms over the steps since the previous report. */
  readonly terms: TermValues;
}

export interface DistillStepRecord extends TermValues {
  readonly step: number;
  readonly total: number;
}

export interface DistillResult {
  /** The trained student (factors are tf.Variables); the caller owns it. */
  readonly student: LowRankModel;
  readonly steps: number;
  /** Per optimizer step: the weighted total and each unweighted term (null when not computed). */
  readonly history: readonly DistillStepRecord[];
  readonly weights: DistillWeights;
  readonly seconds: number;
  readonly resumedFromStep?: number;
}

export const DISTILL_DEFAULTS = {
  batchSize: 8,
  optimizer: { lr: 2.5e-4, weightDecay: 0.05 } as AdamWOptions,
  schedule: { kind: 'cosine', warmupRatio: 0.05 } as ScheduleOptions,
  trainable: 'factors' as TrainableScope,
};

/** The weights of `options` with their defaults; INVALID_ARGUMENT listing every bad setting (weights, dataset, steps). */
export function resolveDistillWeights(options: DistillOptions): DistillWeights {
  const w: DistillWeights = {
    taskWeight: options.taskWeight ?? DISTILL_WEIGHT_DEFAULTS.taskWeight,
    alpha: options.alpha ?? DISTILL_WEIGHT_DEFAULTS.alpha,
    beta: options.beta ?? DISTILL_WEIGHT_DEFAULTS.beta,
    eps: options.eps ?? DISTILL_WEIGHT_DEFAULTS.eps,
    perturbationForm: options.perturbationForm ?? DISTILL_WEIGHT_DEFAULTS.perturbationForm,
  };
  const problems = new ViolationCollector();
  checkDistillWeights(w, 'distill', problems);
  const ds = options.dataset as Partial<DistillDataset> | undefined;
  if (ds === undefined || typeof ds.batch !== 'function' || !Number.isSafeInteger(ds.size) || (ds.size as number) < 1) {
    problems.add('distill.dataset', 'must be a DistillDataset (size >= 1 and a batch function)');
  }
  if (!Number.isSafeInteger(options.steps) || options.steps < 1) problems.add('distill.steps', `must be a positive integer, got ${String(options.steps)}`);
  if (w.taskWeight === 0 && w.alpha === 0 && w.beta === 0) problems.add('distill', 'taskWeight, alpha and beta are all 0: nothing to train');
  problems.throwIfAny();
  return w;
}

/**
 * PELA's intermediate pre-training: the frozen dense `teacher` guides a trainable copy of
 * `student` (see `withVariables`) under taskWeight·task + alpha·FD + beta·WP, through the training
 * library's trainer (AdamW, schedule, clipping, accumulation, checkpoint/resume, cancellation).
 * Each term is recorded per step; the record travels in the trainer's checkpoints, so a resumed
 * run reports the whole history. `student` itself is left unchanged.
 */
export async function distill(teacher: Model, student: LowRankModel, options: DistillOptions): Promise<DistillResult> {
  const weights = resolveDistillWeights(options);
  const started = performance.now();
  const trainee = student.withVariables(options.trainable ?? DISTILL_DEFAULTS.trainable);
  let copies: tf.Tensor[] = [];
  const recorder = new TermRecorder();
  try {
    const teacherWeights = teacherKernels(teacher, trainee);
    copies = teacherWeights.copies;
    const ctx = { teacher, student: trainee, kernels: teacherWeights.kernels, weights };
    const extraState: ExtraState = { save: () => recorder.save(), load: (t) => recorder.load(t) };
    const every = options.progressEvery ?? 1;
    const result = await train({
      params: trainee.variables(),
      examples: options.dataset.size,
      batchSize: options.batchSize ?? DISTILL_DEFAULTS.batchSize,
      gradientAccumulationSteps: options.gradientAccumulationSteps,
      maxSteps: options.steps,
      optimizer: options.optimizer ?? DISTILL_DEFAULTS.optimizer,
      schedule: options.schedule ?? DISTILL_DEFAULTS.schedule,
      maxGradNorm: options.maxGradNorm,
      seed: options.seed,
      checkpoint: options.checkpoint,
      extraState,
      signal: options.signal,
      progressEvery: 1,
      loss: (batch) => {
        const terms = distillObjective(ctx, options.dataset.batch(batch.indices));
        recorder.record(batch.step, terms);
        return terms.total;
      },
      onProgress: (p) => {
        recorder.complete(p.step);
        if (options.onProgress !== undefined && (p.step % every === 0 || p.step === p.totalSteps)) options.onProgress({ ...p, terms: recorder.meanSinceLastReport() });
      },
    });
    trainee.recordDistillation({ steps: result.steps, alpha: weights.alpha, beta: weights.beta, eps: weights.eps, taskWeight: weights.taskWeight });
    const totals = new Map(result.lossHistory.map((r) => [r.step, r.loss]));
    const history = recorder.history().map((r) => ({ ...r, total: totals.get(r.step) ?? NaN }));
    return { student: trainee, steps: result.steps, history, weights, seconds: (performance.now() - started) / 1000, resumedFromStep: result.resumedFromStep };
  } catch (e) {
    trainee.dispose();
    throw PatchworkError.from(e);
  } finally {
    tf.dispose(copies);
    recorder.dispose();
  }
}
