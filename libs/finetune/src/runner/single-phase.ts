import { tf } from '@patchwork/tensor';
import { type ExtraState, type MicroBatch, type TrainProgress, classificationLoss } from '@patchwork/training';
import { evaluateSet } from '../core/evaluate-set';
import { runPhase } from '../core/phase';
import { type Batch, disposeBatch } from '../data/encoded-inputs';
import type { MethodContext, PreparedRun } from './method';

/** A method trained in one phase with the task's cross-entropy (full, LoRA, AdaLoRA, HUT, LST). */
export interface SinglePhaseParts {
  /** Trainable variables by stable name (checkpoints are keyed by these). */
  readonly params: ReadonlyMap<string, tf.Variable>;
  readonly trainableParameters: number;
  readonly artifact: 'adapter' | 'model';
  logits(batch: Batch, training: boolean): tf.Tensor;
  /** Added to the task loss (AdaLoRA's orthogonality term). */
  regularizer?(): tf.Scalar;
  readonly extraState?: ExtraState;
  /** After each optimizer step, with the micro-batches that step trained on. */
  afterStep?(progress: TrainProgress, microBatches: readonly (readonly number[])[]): void;
  save(dir: string): Promise<void>;
  dispose(): void;
}

/** Validation accuracy and loss as the trainer's evaluation callback reports them. */
export function validationMetrics(ctx: MethodContext, logits: (batch: Batch) => tf.Tensor): () => { eval_accuracy: number; eval_loss: number } {
  return () => {
    const r = evaluateSet(ctx.task.validation, logits, ctx.config.trainer.evalBatchSize);
    return { eval_accuracy: r.accuracy, eval_loss: r.loss };
  };
}

/** Cross-entropy of the training examples at `indices` (plus the regularizer), under the tape. */
function taskLoss(ctx: MethodContext, parts: SinglePhaseParts, indices: readonly number[]): tf.Scalar {
  const batch = ctx.task.train.batch(indices);
  try {
    return tf.tidy(() => {
      const ce = classificationLoss(parts.logits(batch, true), batch.labels);
      return (parts.regularizer === undefined ? ce : tf.add(ce, parts.regularizer())) as tf.Scalar;
    });
  } finally {
    disposeBatch(batch);
  }
}

export function singlePhaseRun(ctx: MethodContext, parts: SinglePhaseParts): PreparedRun {
  let stepBatches: number[][] = [];
  let currentStep = -1;
  return {
    trainableParameters: parts.trainableParameters,
    artifact: parts.artifact,
    async train(io) {
      const summary = await runPhase(
        {
          name: 'train',
          params: parts.params,
          examples: ctx.task.train.size,
          trainer: ctx.config.trainer,
          loss: (mb: MicroBatch) => {
            if (mb.step !== currentStep) {
              currentStep = mb.step;
              stepBatches = [];
            }
            stepBatches.push([...mb.indices]);
            return taskLoss(ctx, parts, mb.indices);
          },
          evaluate: validationMetrics(ctx, (b) => parts.logits(b, false)),
          extraState: parts.extraState,
          afterStep: parts.afterStep === undefined ? undefined : (p) => parts.afterStep?.(p, stepBatches),
        },
        io,
      );
      return [summary];
    },
    logits: (batch) => parts.logits(batch, false),
    stepLoss: (indices) => taskLoss(ctx, parts, indices),
    stepVariables: () => [...parts.params.values()],
    save: (dir) => parts.save(dir),
    dispose: () => parts.dispose(),
  };
}
