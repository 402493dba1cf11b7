import { ViolationCollector } from '@patchwork/errors';
import { MOS_DEFAULT_MOMENTUM } from '@patchwork/merge';
import { type AlignmentOptions, DEFAULT_ALIGNMENT, checkAlignment } from './align-classifier';
import { type BottleneckOptions, DEFAULT_BOTTLENECK, checkBottleneckOptions } from './bottleneck-adapter';
import { MOS_MAX_ITERATIONS } from './self-refine';
import { DEFAULT_TASK_TRAINING, type TaskTrainingOptions, checkTaskTraining } from './train-task';

/** Which features the prototype classifier (the retrieval's first guess) reads. */
export type PrototypeSource = 'first-adapter' | 'backbone';

export interface MosOptions {
  readonly adapter: BottleneckOptions;
  readonly training: TaskTrainingOptions;
  /**
   * β of the MOS merge θ ← (1 − β)·θ + β·mean(earlier adapters), applied once, on a copy, to build
   * each task's inference adapter from the adapters stored for the tasks before it.
   */
  readonly momentum: number;
  /**
   * β of the same merge applied in place after every optimizer step while a task trains (the
   * reference applies it twice per step, in the forward pass and after the step; once here, so
   * 0.19 reproduces its pull). 0 trains each task adapter freely from the previous one's weights:
   * on Split-Digits that fits the new digits far better (higher oracle-routed accuracy)
   * but the adapters drift apart, the head stops agreeing across them and retrieval collapses
   * (see the README), so the reference's 0.1 is the default.
   */
  readonly trainingMomentum: number;
  /** Classifier alignment from class Gaussians after every task but the first; `false` turns it off. */
  readonly alignment: AlignmentOptions | false;
  /**
   * 'first-adapter' (default, as the MOS reference code): the backbone with the first task's
   * inference adapter. 'backbone': the frozen backbone alone.
   */
  readonly prototypeFeatures: PrototypeSource;
  /** Head evaluations per input in the self-refined retrieval (1 = take the prototypes' task, no refinement). */
  readonly maxIterations: number;
  /** Add the prototype classifier's softmax to the head's (MOS's logit ensemble). */
  readonly ensemble: boolean;
  readonly seed: number;
  /** Images per forward pass when computing features. */
  readonly featureBatchSize: number;
}

export interface MosOptionsInput {
  readonly adapter?: Partial<BottleneckOptions>;
  readonly training?: Partial<TaskTrainingOptions>;
  readonly momentum?: number;
  readonly trainingMomentum?: number;
  readonly alignment?: Partial<AlignmentOptions> | false;
  readonly prototypeFeatures?: PrototypeSource;
  readonly maxIterations?: number;
  readonly ensemble?: boolean;
  readonly seed?: number;
  readonly featureBatchSize?: number;
}

/** Options with defaults filled in; INVALID_ARGUMENT listing every bad field. */
export function resolveMosOptions(input: MosOptionsInput = {}): MosOptions {
  const options: MosOptions = {
    adapter: { ...DEFAULT_BOTTLENECK, ...input.adapter },
    training: { ...DEFAULT_TASK_TRAINING, ...input.training },
    momentum: input.momentum ?? MOS_DEFAULT_MOMENTUM,
    trainingMomentum: input.trainingMomentum ?? MOS_DEFAULT_MOMENTUM,
    alignment: input.alignment === false ? false : { ...DEFAULT_ALIGNMENT, ...input.alignment },
    prototypeFeatures: input.prototypeFeatures ?? 'first-adapter',
    maxIterations: input.maxIterations ?? MOS_MAX_ITERATIONS,
    ensemble: input.ensemble ?? true,
    seed: input.seed ?? 0,
    featureBatchSize: input.featureBatchSize ?? 256,
  };
  const problems = new ViolationCollector();
  checkBottleneckOptions(options.adapter, 'adapter', problems);
  checkTaskTraining(options.training, 'training', problems);
  if (options.alignment !== false) checkAlignment(options.alignment, 'alignment', problems);
  for (const key of ['momentum', 'trainingMomentum'] as const) {
    const v = options[key];
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) problems.add(key, `must be within [0, 1], got ${v}`);
  }
  if (options.prototypeFeatures !== 'first-adapter' && options.prototypeFeatures !== 'backbone') problems.add('prototypeFeatures', `must be 'first-adapter' or 'backbone', got ${String(options.prototypeFeatures)}`);
  if (!Number.isInteger(options.maxIterations) || options.maxIterations < 1 || options.maxIterations > MOS_MAX_ITERATIONS) {
    problems.add('maxIterations', `must be an integer in [1, ${MOS_MAX_ITERATIONS}], got ${options.maxIterations}`);
  }
  if (typeof options.ensemble !== 'boolean') problems.add('ensemble', 'must be a boolean');
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) problems.add('seed', `must be a non-negative integer, got ${options.seed}`);
  if (!Number.isInteger(options.featureBatchSize) || options.featureBatchSize < 1) problems.add('featureBatchSize', `must be a positive integer, got ${options.featureBatchSize}`);
  problems.throwIfAny();
  return options;
}
