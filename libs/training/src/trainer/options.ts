import { ViolationCollector } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import { type AdamWOptions, checkAdamWOptions } from '../optim/adamw';
import { type ScheduleOptions, checkScheduleOptions } from '../optim/schedule';
import type { Prng } from '../random/prng';

/** One micro-batch as the loss function sees it. */
export interface MicroBatch {
  /** Example indices, in [0, examples). */
  readonly indices: readonly number[];
  /**
   * The run's batch generator (masking, augmentation). Checkpointed with the run, so draws made
   * here replay identically after a resume. Draw from it only inside `loss`.
   */
  readonly rng: Prng;
  /** 0-based index of the optimizer step this micro-batch belongs to. */
  readonly step: number;
  /** Index of the micro-batch inside its step, in [0, gradientAccumulationSteps). */
  readonly micro: number;
}

export type Metrics = Readonly<Record<string, number>>;

export interface EvaluationOptions {
  /** Evaluate after every `every` optimizer steps. */
  readonly every: number;
  /** Also evaluate after the last step when it is not a multiple of `every`. Default true. */
  readonly atEnd?: boolean;
  /** Computes metrics on held-out data; must not change the parameters. */
  readonly run: (context: { step: number }) => Metrics | Promise<Metrics>;
}

export interface EarlyStoppingOptions {
  /** A key of the evaluation metrics. */
  readonly metric: string;
  readonly mode: 'min' | 'max';
  /** Evaluations without improvement before stopping. */
  readonly patience: number;
  /** Smallest change that counts as an improvement. Default 0. */
  readonly threshold?: number;
}

export interface CheckpointOptions {
  /** Directory holding `checkpoint-<step>/` folders. Created if missing. */
  readonly dir: string;
  /** Write a checkpoint after every `every` optimizer steps (and after the last step). */
  readonly every: number;
  /** Newest checkpoints kept; older ones are deleted. Default 2. */
  readonly keep?: number;
  /**
   * Continue from the newest checkpoint in `dir` when there is one (default true). With false,
   * existing checkpoints in `dir` are deleted and the run starts from scratch.
   */
  readonly resume?: boolean;
}

/** Extra tensors a method keeps across steps (AdaLoRA's importance EMAs, say), saved with each checkpoint. */
export interface ExtraState {
  /** The tensors to save; they stay the method's (the trainer only reads them). */
  save(): ReadonlyMap<string, tf.Tensor>;
  /** Receives the saved tensors; they are the trainer's and freed after the call returns. */
  load(tensors: ReadonlyMap<string, tf.Tensor>): void;
}

export interface TrainProgress {
  /** Optimizer steps completed. */
  readonly step: number;
  readonly totalSteps: number;
  /** Mean training loss over the steps since the previous report. */
  readonly loss: number;
  /** Learning rate used by the latest step. */
  readonly lr: number;
  /** Global gradient norm of the latest step, before clipping. */
  readonly gradNorm: number;
  readonly epoch: number;
  readonly examplesPerSec: number;
  readonly etaSec: number;
  /** Present when an evaluation ran at this step. */
  readonly evalMetrics?: Metrics;
}

export interface TrainOptions {
  /** The trainable parameters by name. Updated in place; the caller keeps ownership. */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** Number of training examples; the loss is asked about indices in [0, examples). */
  readonly examples: number;
  /**
   * Loss of one micro-batch, a scalar. Runs under the gradient tape inside a tidy scope: tensors
   * created here (inputs included) are freed by the trainer.
   */
  readonly loss: (batch: MicroBatch) => tf.Scalar;
  /** Examples per micro-batch. */
  readonly batchSize: number;
  /** Micro-batches per optimizer step; each micro-batch loss is divided by this. Default 1. */
  readonly gradientAccumulationSteps?: number;
  /** Optimizer steps to run. Exactly one of `maxSteps` and `epochs` is required. */
  readonly maxSteps?: number;
  /** Passes over the data; the run takes ceil(epochs * examples / (batchSize * accumulation)) steps. */
  readonly epochs?: number;
  readonly optimizer: AdamWOptions;
  /** Default: linear decay, no warmup (transformers' default). */
  readonly schedule?: ScheduleOptions;
  /** Global-norm clipping limit; default 1.0, 0 turns clipping off. */
  readonly maxGradNorm?: number;
  /** Seeds the data order and the batch generator. Default 42. */
  readonly seed?: number;
  readonly evaluation?: EvaluationOptions;
  /** Requires `evaluation`. */
  readonly earlyStopping?: EarlyStoppingOptions;
  readonly checkpoint?: CheckpointOptions;
  readonly extraState?: ExtraState;
  /** Stops the run between micro-batches; a checkpoint of the last completed step is written first. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: TrainProgress) => void;
  /** Report progress every this many steps (and at evaluations and the end). Default 1. */
  readonly progressEvery?: number;
}

export interface NormalizedTrainOptions extends TrainOptions {
  readonly gradientAccumulationSteps: number;
  readonly totalSteps: number;
  readonly schedule: ScheduleOptions;
  readonly maxGradNorm: number;
  readonly seed: number;
  readonly progressEvery: number;
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Validates every option at once (INVALID_ARGUMENT listing each problem) and fills defaults. */
export function normalizeTrainOptions(options: TrainOptions): NormalizedTrainOptions {
  const problems = new ViolationCollector();
  const o = options;
  if (!(o.params instanceof Map) || o.params.size === 0) problems.add('params', 'must be a non-empty Map of tf.Variable');
  else {
    for (const [name, v] of o.params) {
      if (!(v instanceof tf.Variable)) problems.add(`params.${name}`, 'must be a tf.Variable');
      else if (v.dtype !== 'float32') problems.add(`params.${name}`, `must be float32, got ${v.dtype}`);
    }
  }
  if (typeof o.loss !== 'function') problems.add('loss', 'must be a function');
  if (!positiveInt(o.examples)) problems.add('examples', `must be a positive integer, got ${o.examples}`);
  if (!positiveInt(o.batchSize)) problems.add('batchSize', `must be a positive integer, got ${o.batchSize}`);
  const accumulation = o.gradientAccumulationSteps ?? 1;
  if (!positiveInt(accumulation)) problems.add('gradientAccumulationSteps', `must be a positive integer, got ${accumulation}`);
  if ((o.maxSteps === undefined) === (o.epochs === undefined)) problems.add('maxSteps', 'exactly one of maxSteps and epochs is required');
  if (o.maxSteps !== undefined && !positiveInt(o.maxSteps)) problems.add('maxSteps', `must be a positive integer, got ${o.maxSteps}`);
  if (o.epochs !== undefined && !(Number.isFinite(o.epochs) && o.epochs > 0)) problems.add('epochs', `must be a positive number, got ${o.epochs}`);
  if (o.optimizer === undefined) problems.add('optimizer', 'is required');
  else checkAdamWOptions(o.optimizer, 'optimizer', problems);
  const schedule = o.schedule ?? { kind: 'linear' };
  checkScheduleOptions(schedule, 'schedule', problems);
  const maxGradNorm = o.maxGradNorm ?? 1;
  if (!(Number.isFinite(maxGradNorm) && maxGradNorm >= 0)) problems.add('maxGradNorm', `must be a finite non-negative number, got ${maxGradNorm}`);
  const seed = o.seed ?? 42;
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) problems.add('seed', `must be an integer in [0, 2^32), got ${seed}`);
  const progressEvery = o.progressEvery ?? 1;
  if (!positiveInt(progressEvery)) problems.add('progressEvery', `must be a positive integer, got ${progressEvery}`);
  if (o.evaluation !== undefined) {
    if (!positiveInt(o.evaluation.every)) problems.add('evaluation.every', `must be a positive integer, got ${o.evaluation.every}`);
    if (typeof o.evaluation.run !== 'function') problems.add('evaluation.run', 'must be a function');
  }
  if (o.earlyStopping !== undefined) {
    const e = o.earlyStopping;
    if (o.evaluation === undefined) problems.add('earlyStopping', 'needs evaluation to be configured');
    if (typeof e.metric !== 'string' || e.metric.length === 0) problems.add('earlyStopping.metric', 'must name an evaluation metric');
    if (e.mode !== 'min' && e.mode !== 'max') problems.add('earlyStopping.mode', `must be "min" or "max", got ${JSON.stringify(e.mode)}`);
    if (!positiveInt(e.patience)) problems.add('earlyStopping.patience', `must be a positive integer, got ${e.patience}`);
    if (e.threshold !== undefined && !(Number.isFinite(e.threshold) && e.threshold >= 0)) problems.add('earlyStopping.threshold', `must be a finite non-negative number, got ${e.threshold}`);
  }
  if (o.checkpoint !== undefined) {
    const c = o.checkpoint;
    if (typeof c.dir !== 'string' || c.dir.length === 0) problems.add('checkpoint.dir', 'must be a directory path');
    if (!positiveInt(c.every)) problems.add('checkpoint.every', `must be a positive integer, got ${c.every}`);
    if (c.keep !== undefined && !positiveInt(c.keep)) problems.add('checkpoint.keep', `must be a positive integer, got ${c.keep}`);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') problems.add('onProgress', 'must be a function');
  problems.throwIfAny();
  const totalSteps = o.maxSteps ?? Math.ceil(((o.epochs as number) * o.examples) / (o.batchSize * accumulation));
  return { ...o, gradientAccumulationSteps: accumulation, totalSteps, schedule, maxGradNorm, seed, progressEvery };
}
