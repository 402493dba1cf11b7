import type { Model } from '@patchwork/models';
import type { tf } from '@patchwork/tensor';
import type { PhaseIO, PhaseSummary } from '../core/phase';
import type { Batch } from '../data/encoded-inputs';
import type { PreparedTask } from './prepare-task';
import type { RunConfig } from './run-config';

/** Everything a method needs to build its run. */
export interface MethodContext {
  readonly config: RunConfig;
  /** The frozen base model (owned by the runner). */
  readonly model: Model;
  readonly modelDir: string;
  readonly task: PreparedTask;
  /** Resolves a model reference (backbone name or directory) as the runner does for `base_model`. */
  readonly resolveModel: (ref: string, field: string) => Promise<string>;
  /**
   * The model a base becomes for this task: with a classifier of the task's size (freshly
   * initialised when the base's head has another size), owned by the runner. Identity for prompt heads.
   */
  readonly taskModel: (base: Model) => Model;
}

/** A method's training run, fully validated and allocated, nothing written yet. */
export interface PreparedRun {
  /** Parameters the saved artifact holds (what was trained). */
  readonly trainableParameters: number;
  /** What kind of artifact `save` writes. */
  readonly artifact: 'adapter' | 'model';
  /** Trains every phase of the method. */
  train(io: PhaseIO): Promise<PhaseSummary[]>;
  /** Eval-mode label logits `[B, C]` of the trained model. */
  logits(batch: Batch): tf.Tensor;
  /** Method-specific metrics after training (MUSCLE's flips). */
  extraMetrics?(): Record<string, number>;
  /** Loss of one training batch with the tape on, for profiling a step's memory. */
  stepLoss(indices: readonly number[]): tf.Scalar;
  /** Variables `stepLoss` trains. */
  stepVariables(): tf.Variable[];
  save(dir: string): Promise<void>;
  dispose(): void;
}

export type MethodFactory = (ctx: MethodContext) => Promise<PreparedRun>;
