import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { LinearPatch, Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type BottleneckOptions, BottleneckAdapter } from './bottleneck-adapter';
import type { MosLearner } from './mos-learner';

/** The module whose output a MOS task adapter replaces with the learner's head. */
export const MOS_HEAD_MODULE = 'classifier';

/** Everything a task adapter is made of, as plain arrays (what `saveMosTaskAdapter` writes). */
export interface MosTaskAdapterArrays {
  readonly taskId: number;
  /** Every class of the head, in column order (the logits' columns). */
  readonly classes: readonly number[];
  /** The classes this task brought. */
  readonly taskClasses: readonly number[];
  readonly adapter: BottleneckOptions;
  /** The task's inference bottleneck (merged once at the end of its task), names from `adapterTensorNames`. */
  readonly bottleneck: ReadonlyMap<string, Float32Array>;
  /** `[classes, hidden]` and `[classes]`. */
  readonly headWeight: Float32Array;
  readonly headBias: Float32Array;
}

/**
 * One MOS task as a servable adapter: the task's inference bottleneck in every ViT block, and the
 * learner's (aligned) head in place of the base classifier, so a forward pass through it gives the
 * head's logits over every class the learner knows — what MOS reads once retrieval has chosen this
 * task. The head replaces the classifier's output (its width is the learner's class count, not
 * the base's), so requests through it only share a forward pass with adapters of the same
 * `outputKey`.
 */
export class MosTaskAdapter {
  private disposed = false;

  private constructor(
    readonly model: Model,
    readonly taskId: number,
    readonly classes: readonly number[],
    readonly taskClasses: readonly number[],
    private readonly bottleneck: BottleneckAdapter,
    private readonly headWeight: tf.Tensor2D,
    private readonly headBias: tf.Tensor1D,
  ) {}

  /** Task `taskId` of `learner` (copies: the adapter outlives the learner). */
  static fromLearner(learner: MosLearner, taskId: number): MosTaskAdapter {
    const head = learner.headArrays();
    const adapter = learner.adapter(taskId);
    return MosTaskAdapter.fromArrays(learner.model, {
      taskId,
      classes: [...learner.classes],
      taskClasses: [...learner.taskClasses(taskId)],
      adapter: adapter.options,
      bottleneck: adapter.toArrays(),
      headWeight: head.weight,
      headBias: head.bias,
    });
  }

  static fromArrays(model: Model, arrays: MosTaskAdapterArrays): MosTaskAdapter {
    const problems = new ViolationCollector();
    const { taskId, classes, taskClasses } = arrays;
    if (!Number.isSafeInteger(taskId) || taskId < 0) problems.add('task_id', `must be a non-negative integer, got ${taskId}`);
    if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => Number.isSafeInteger(c) && c >= 0)) problems.add('classes', 'must be a non-empty list of class labels');
    else if (new Set(classes).size !== classes.length) problems.add('classes', 'has duplicates');
    if (!Array.isArray(taskClasses) || taskClasses.length === 0 || !taskClasses.every((c) => classes.includes(c))) problems.add('task_classes', 'must be a non-empty subset of classes');
    const dim = model.hiddenSize;
    const n = Array.isArray(classes) ? classes.length : 0;
    if (arrays.headWeight.length !== n * dim) problems.add(`${MOS_HEAD_MODULE}.weight`, `has ${arrays.headWeight.length} values, expected [${n}, ${dim}]`);
    if (arrays.headBias.length !== n) problems.add(`${MOS_HEAD_MODULE}.bias`, `has ${arrays.headBias.length} values, expected [${n}]`);
    problems.throwIfAny();
    const head = model.linears.get(MOS_HEAD_MODULE);
    if (head === undefined || head.inFeatures !== dim) throw new PatchworkError('FAILED_PRECONDITION', `a MOS task adapter replaces the ${MOS_HEAD_MODULE} of a ViT classifier reading ${dim} features; this model has none`);
    const bottleneck = BottleneckAdapter.fromArrays(model, arrays.adapter, arrays.bottleneck);
    const weight = tf.tensor2d(arrays.headWeight, [n, dim]);
    const bias = tf.tensor1d(arrays.headBias);
    return new MosTaskAdapter(model, taskId, [...classes], [...taskClasses], bottleneck, weight, bias);
  }

  /** Adapters with equal keys produce logits of the same width and may share a forward pass. */
  get outputKey(): string {
    return `mos-head:${this.classes.length}`;
  }

  get numBytes(): number {
    return this.bottleneck.numBytes + 4 * (this.headWeight.size + this.headBias.size);
  }

  /** Bottleneck arrays and head, as `fromArrays` takes them (for saving). */
  toArrays(): MosTaskAdapterArrays {
    this.assertLive();
    return {
      taskId: this.taskId,
      classes: this.classes,
      taskClasses: this.taskClasses,
      adapter: this.bottleneck.options,
      bottleneck: this.bottleneck.toArrays(),
      headWeight: Float32Array.from(this.headWeight.dataSync() as Float32Array),
      headBias: Float32Array.from(this.headBias.dataSync() as Float32Array),
    };
  }

  /** Inference patches: the bottleneck of every block, and the head instead of the classifier. */
  patches(): Map<string, LinearPatch[]> {
    this.assertLive();
    const out = this.bottleneck.patches({ training: false });
    const { headWeight, headBias } = this;
    out.set(MOS_HEAD_MODULE, [(call) => tf.add(tf.matMul(call.x.reshape([-1, call.x.shape[call.x.rank - 1]]), headWeight, false, true), headBias)]);
    return out;
  }

  private assertLive(): void {
    if (this.disposed) throw new PatchworkError('FAILED_PRECONDITION', 'MOS task adapter has been disposed');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.bottleneck.dispose();
    this.headWeight.dispose();
    this.headBias.dispose();
  }
}
