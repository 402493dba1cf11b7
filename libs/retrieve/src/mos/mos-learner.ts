import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { mosMomentumMerge } from '@patchwork/merge';
import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { alignClassifier } from './align-classifier';
import { BottleneckAdapter } from './bottleneck-adapter';
import { ClassGaussian } from './class-gaussian';
import { featuresOf } from './features';
import { type ImageGeometry, type ImageInputs, imageCount, imageGeometry, selectImages } from './image-inputs';
import { LinearHead } from './linear-head';
import { type MosOptions, type MosOptionsInput, resolveMosOptions } from './mos-options';
import { PrototypeClassifier, rowsByLabel } from './prototype-classifier';
import { type RefineState, checkMaxIterations, initialRefineState, refineStep } from './self-refine';
import type { TaskTrainingProgress } from './train-task';
import { trainTask } from './train-task';

/** One task of a class-incremental sequence: images and their class labels (new classes only). */
export interface LabelledImages {
  readonly inputs: ImageInputs;
  readonly labels: ArrayLike<number>;
}

export interface LearnTaskOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TaskTrainingProgress & { taskId: number }) => void;
}

export interface LearnedTask {
  readonly taskId: number;
  readonly classes: readonly number[];
  readonly steps: number;
  readonly finalLoss: number;
  readonly alignmentSteps: number;
}

export interface PredictOptions {
  /** Oracle routing: the task adapter to use, one for all inputs or one per input. Skips retrieval. */
  readonly taskId?: number | ArrayLike<number>;
  /** Overrides the learner's `maxIterations` for this call (1..4). */
  readonly maxIterations?: number;
  /** Overrides the learner's `ensemble` for this call (false: the head's softmax alone). */
  readonly ensemble?: boolean;
}

export interface MosPrediction {
  /** Predicted class label per input. */
  readonly labels: Int32Array;
  /** The task adapter whose head logits were used, per input. */
  readonly taskIds: Int32Array;
  /** Ensemble scores `[inputs, classes]` (columns in `classes` order). */
  readonly scores: Float32Array;
  readonly classes: readonly number[];
}

export interface RetrievedTask {
  /** The task adapter chosen by the self-refined retrieval. */
  readonly taskId: number;
  /** Share of the ensemble's probability mass on each task's classes (sums to 1). */
  readonly scores: Float32Array;
  /** Times the retrieval replaced the adapter (at most maxIterations − 1). */
  readonly refinements: number;
  /** Head evaluations (at most maxIterations). */
  readonly iterations: number;
  /** The predicted class label. */
  readonly label: number;
}

/** Everything a learner has learnt, as plain arrays (for saving, restoring and inspection). */
export interface MosState {
  readonly options: MosOptions;
  /** Classes of each task, in order. */
  readonly tasks: readonly (readonly number[])[];
  /** θ_k as trained, per task (names from `adapterTensorNames`). */
  readonly adapters: readonly ReadonlyMap<string, Float32Array>[];
  /** The head, `[classes, hidden]` and `[classes]`, classes in task order. */
  readonly head: { readonly weight: Float32Array; readonly bias: Float32Array };
  /** Prototype per class, in class order. */
  readonly prototypes: readonly Float32Array[];
  /** Feature Gaussian per class, in class order. */
  readonly gaussians: readonly { readonly mean: Float64Array; readonly covariance: Float64Array; readonly diagonal: boolean }[];
}

interface Evaluation {
  readonly states: RefineState[];
  readonly head: Float32Array;
  readonly proto: Float32Array;
}

function softmaxRow(values: Float32Array, offset: number, n: number, scale: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, values[offset + j] * scale);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    out[j] = Math.exp(values[offset + j] * scale - max);
    sum += out[j];
  }
  for (let j = 0; j < n; j++) out[j] /= sum;
}

function argmaxRow(values: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[offset + j] > values[offset + best]) best = j;
  return best;
}

/**
 * MOS (Sun et al., AAAI 2025) for class-incremental learning on a frozen ViT: one bottleneck
 * adapter per task, trained one task after another from the previous task's weights and pulled
 * toward the earlier adapters by the momentum merge; a growing linear head; class Gaussians for
 * classifier alignment; and at inference a training-free, self-refined choice of adapter per
 * input (prototype classifier first, then the head under the chosen adapter until it agrees with
 * itself), whose head logits are ensembled with the prototype classifier's.
 *
 * The learner borrows `model` (frozen, never modified) and owns its adapters and head.
 */
export class MosLearner {
  readonly options: MosOptions;
  private readonly geometry: ImageGeometry;
  private readonly current: BottleneckAdapter;
  private readonly head: LinearHead;
  private readonly prototypes: PrototypeClassifier;
  /** θ_k as trained (the merge's inputs), oldest first. */
  private readonly stored: Map<string, Float32Array>[] = [];
  /** merge(θ_k, θ_<k), built once per task, used for every inference. */
  private readonly inference: BottleneckAdapter[] = [];
  private readonly tasks: number[][] = [];
  private readonly classList: number[] = [];
  private readonly taskOfColumn: number[] = [];
  private readonly gaussians: ClassGaussian[] = [];
  private busy = false;
  private disposed = false;

  private constructor(
    readonly model: Model,
    options: MosOptions,
  ) {
    this.options = options;
    this.geometry = imageGeometry(model);
    this.current = BottleneckAdapter.create(model, options.adapter, options.seed);
    this.head = new LinearHead(model.hiddenSize, options.seed + 1);
    this.prototypes = new PrototypeClassifier(model.hiddenSize);
  }

  static create(model: Model, options: MosOptionsInput = {}): MosLearner {
    return new MosLearner(model, resolveMosOptions(options));
  }

  /**
   * A learner that continues from `state` (as `exportState` gave it) on the same backbone. The
   * inference adapters are rebuilt with the same single merge, so predictions are identical.
   */
  static fromState(model: Model, state: MosState): MosLearner {
    const options = resolveMosOptions(state.options);
    const t = state.tasks.length;
    const classes = state.tasks.flat();
    const dim = model.hiddenSize;
    const problems: string[] = [];
    if (t === 0) problems.push('tasks: the state holds no task');
    if (new Set(classes).size !== classes.length || !classes.every((c) => Number.isSafeInteger(c) && c >= 0)) problems.push('tasks: classes must be distinct non-negative integers');
    if (state.adapters.length !== t) problems.push(`adapters: ${state.adapters.length} for ${t} tasks`);
    if (state.head.bias.length !== classes.length || state.head.weight.length !== classes.length * dim) problems.push(`head: expected [${classes.length}, ${dim}] and [${classes.length}]`);
    if (state.prototypes.length !== classes.length || state.prototypes.some((p) => p.length !== dim)) problems.push(`prototypes: expected ${classes.length} of dimension ${dim}`);
    if (state.gaussians.length !== classes.length) problems.push(`gaussians: expected ${classes.length}`);
    if (problems.length > 0) throw new PatchworkError('INVALID_ARGUMENT', `MOS state does not fit this backbone: ${problems.join('; ')}`);
    const learner = new MosLearner(model, options);
    try {
      state.adapters.forEach((theta, k) => {
        const stored = new Map([...theta].map(([name, v]) => [name, v.slice()]));
        learner.inference.push(BottleneckAdapter.fromArrays(model, options.adapter, mosMomentumMerge(stored, learner.stored, options.momentum), options.seed));
        learner.stored.push(stored);
        learner.tasks.push([...state.tasks[k]]);
        learner.taskOfColumn.push(...state.tasks[k].map(() => k));
      });
      learner.current.assign(learner.stored[t - 1]);
      learner.classList.push(...classes);
      learner.head.setArrays(state.head.weight, state.head.bias);
      classes.forEach((c, i) => learner.prototypes.setPrototype(c, state.prototypes[i]));
      learner.gaussians.push(...state.gaussians.map((g) => new ClassGaussian(g.mean.slice(), g.covariance.slice(), g.diagonal)));
      return learner;
    } catch (e) {
      learner.dispose();
      throw e;
    }
  }

  /** Copies of everything learnt so far. */
  exportState(): MosState {
    this.assertUsable('export the state');
    const head = this.head.toArrays();
    if (head === undefined) throw new PatchworkError('FAILED_PRECONDITION', 'the MOS learner has not learnt any task yet');
    return {
      options: this.options,
      tasks: this.tasks.map((c) => [...c]),
      adapters: this.stored.map((a) => new Map([...a].map(([k, v]) => [k, v.slice()]))),
      head,
      prototypes: this.classList.map((c) => this.prototypes.prototype(c)),
      gaussians: this.gaussians.map((g) => ({ mean: g.mean.slice(), covariance: g.covariance.slice(), diagonal: g.diagonal })),
    };
  }

  get numTasks(): number {
    return this.tasks.length;
  }

  /** Every class learnt so far, in head-column order. */
  get classes(): readonly number[] {
    return this.classList;
  }

  /** The classes of task `taskId`. */
  taskClasses(taskId: number): readonly number[] {
    this.checkTaskId(taskId, 'taskId');
    return this.tasks[taskId];
  }

  /** Task `taskId`'s inference adapter (merged once, at the end of its task). Borrowed: do not dispose. */
  adapter(taskId: number): BottleneckAdapter {
    this.checkTaskId(taskId, 'taskId');
    return this.inference[taskId];
  }

  /** Copies of the head, `weight [classes, hidden]` and `bias [classes]`, columns in `classes` order. */
  headArrays(): { weight: Float32Array; bias: Float32Array } {
    this.assertUsable('read the head');
    const head = this.head.toArrays();
    if (head === undefined) throw new PatchworkError('FAILED_PRECONDITION', 'the MOS learner has not learnt any task yet');
    return head;
  }

  /** Copies of task `taskId`'s adapter as trained, before the inference merge. */
  trainedAdapter(taskId: number): Map<string, Float32Array> {
    this.checkTaskId(taskId, 'taskId');
    return new Map([...this.stored[taskId]].map(([k, v]) => [k, v.slice()]));
  }

  private checkTaskId(taskId: number, field: string): void {
    if (!Number.isInteger(taskId) || taskId < 0 || taskId >= this.tasks.length) {
      throw new PatchworkError('OUT_OF_RANGE', `${field}: ${taskId} is not a learnt task (${this.tasks.length} learnt)`);
    }
  }

  private assertUsable(what: string): void {
    if (this.disposed) throw new PatchworkError('FAILED_PRECONDITION', 'the MOS learner has been disposed');
    if (this.busy) throw new PatchworkError('UNAVAILABLE', `cannot ${what} while a task is being learnt`);
  }

  private checkTask(task: LabelledImages): { count: number; labels: number[]; groups: Map<number, number[]> } {
    if (typeof task !== 'object' || task === null) throw invalidArgument('task', 'must be { inputs, labels }');
    const count = imageCount(task.inputs, this.geometry, 'task.inputs');
    if (task.labels === undefined || typeof task.labels.length !== 'number') throw invalidArgument('task.labels', 'must be an array of class labels');
    if (task.labels.length !== count) throw invalidArgument('task.labels', `has ${task.labels.length} labels for ${count} images`);
    const labels = Array.from(task.labels);
    labels.forEach((y, i) => {
      if (!Number.isSafeInteger(y) || y < 0) throw invalidArgument(`task.labels[${i}]`, `must be a non-negative integer, got ${y}`);
    });
    const groups = rowsByLabel(labels);
    for (const label of groups.keys()) {
      const earlier = this.tasks.findIndex((classes) => classes.includes(label));
      if (earlier >= 0) throw invalidArgument('task.labels', `class ${label} was learnt in task ${earlier}; every task must bring new classes (class-incremental)`);
    }
    return { count, labels, groups };
  }

  /**
   * Learns the next task: trains the task adapter (from the previous task's weights) and the head,
   * stores the adapter and its merged inference copy, adds the new classes' prototypes and
   * Gaussians, then realigns the head on every class. All or nothing: on error or cancellation the
   * learner is left as it was.
   */
  async learnTask(task: LabelledImages, options: LearnTaskOptions = {}): Promise<LearnedTask> {
    this.assertUsable('learn a task');
    const { count, labels, groups } = this.checkTask(task);
    const taskId = this.tasks.length;
    const newClasses = [...groups.keys()];
    const o = this.options;
    const before = { adapter: this.current.toArrays(), head: this.head.toArrays() };
    const firstColumn = this.classList.length;
    this.busy = true;
    let inference: BottleneckAdapter | undefined;
    try {
      this.head.grow(newClasses.length);
      const targets = Int32Array.from(labels, (y) => firstColumn + newClasses.indexOf(y));
      const previous = this.stored;
      const merge =
        taskId > 0 && o.trainingMomentum > 0 ? () => this.current.assign(mosMomentumMerge(this.current.toArrays(), previous, o.trainingMomentum)) : undefined;
      const anchors = o.training.orthogonalityWeight > 0 && this.gaussians.length > 0 ? this.classMeans() : undefined;
      const trained = await trainTask({
        model: this.model,
        adapter: this.current,
        head: this.head,
        inputs: task.inputs,
        geometry: this.geometry,
        targets,
        columns: [firstColumn, firstColumn + newClasses.length],
        anchors,
        afterStep: merge,
        options: o.training,
        seed: o.seed + 1000 * (taskId + 1),
        signal: options.signal,
        onProgress: options.onProgress && ((p) => options.onProgress?.({ ...p, taskId })),
      });

      const theta = this.current.toArrays();
      inference = BottleneckAdapter.fromArrays(this.model, o.adapter, mosMomentumMerge(theta, previous, o.momentum), o.seed);
      const withAdapter = inference;
      const features = featuresOf(this.model, task.inputs, this.geometry, count, () => withAdapter.patches(), o.featureBatchSize);
      const fit = { ridge: o.alignment === false ? undefined : o.alignment.ridge, diagonal: o.alignment === false ? false : o.alignment.diagonal };
      const gaussians = newClasses.map((c) => ClassGaussian.fit(features, this.model.hiddenSize, groups.get(c) as number[], fit));
      const protoFeatures =
        o.prototypeFeatures === 'backbone'
          ? featuresOf(this.model, task.inputs, this.geometry, count, undefined, o.featureBatchSize)
          : taskId === 0
            ? features
            : featuresOf(this.model, task.inputs, this.geometry, count, () => this.inference[0].patches(), o.featureBatchSize);

      let alignmentSteps = 0;
      if (o.alignment !== false && taskId > 0) {
        const aligned = await alignClassifier({ head: this.head, gaussians: [...this.gaussians, ...gaussians], options: o.alignment, seed: o.seed + 7919 * (taskId + 1), signal: options.signal });
        alignmentSteps = aligned.steps;
      }

      // Commit: nothing below can fail.
      this.prototypes.addClasses(protoFeatures, labels);
      this.stored.push(theta);
      this.inference.push(inference);
      inference = undefined;
      this.tasks.push(newClasses);
      this.classList.push(...newClasses);
      this.taskOfColumn.push(...newClasses.map(() => taskId));
      this.gaussians.push(...gaussians);
      return { taskId, classes: newClasses, steps: trained.steps, finalLoss: trained.finalLoss, alignmentSteps };
    } catch (e) {
      inference?.dispose();
      this.current.assign(before.adapter);
      if (before.head === undefined) this.head.dispose();
      else this.head.setArrays(before.head.weight, before.head.bias);
      throw e;
    } finally {
      this.busy = false;
    }
  }

  private classMeans(): Float32Array {
    const dim = this.model.hiddenSize;
    const out = new Float32Array(this.gaussians.length * dim);
    this.gaussians.forEach((g, i) => out.set(g.mean, i * dim));
    return out;
  }

  private checkInputs(inputs: ImageInputs): number {
    this.assertUsable('predict');
    if (this.tasks.length === 0) throw new PatchworkError('FAILED_PRECONDITION', 'the MOS learner has not learnt any task yet');
    return imageCount(inputs, this.geometry, 'inputs');
  }

  private headLogits(inputs: ImageInputs, rows: readonly number[], taskId: number): Float32Array {
    const images = selectImages(inputs, this.geometry, rows);
    const adapter = this.inference[taskId];
    const features = featuresOf(this.model, images, this.geometry, rows.length, () => adapter.patches(), this.options.featureBatchSize);
    return tf.tidy(() => this.head.logits(tf.tensor2d(features, [rows.length, this.model.hiddenSize])).dataSync() as Float32Array);
  }

  /**
   * Runs the retrieval for every input (or, with `fixed`, reads the head under the given adapters):
   * rounds of head evaluations, each grouping the still-unsettled inputs by their current adapter
   * so that every adapter runs one batched forward per round.
   */
  private evaluate(inputs: ImageInputs, count: number, fixed: Int32Array | undefined, maxIterations: number): Evaluation {
    const classes = this.classList.length;
    const protoSource = this.options.prototypeFeatures === 'backbone' ? undefined : () => this.inference[0].patches();
    const protoFeatures = featuresOf(this.model, inputs, this.geometry, count, protoSource, this.options.featureBatchSize);
    const proto = tf.tidy(() => this.prototypes.scores(tf.tensor2d(protoFeatures, [count, this.model.hiddenSize])).dataSync() as Float32Array);
    const states: RefineState[] = Array.from({ length: count }, (_, i) =>
      initialRefineState(fixed !== undefined ? fixed[i] : this.taskOfColumn[argmaxRow(proto, i * classes, classes)]),
    );
    const head = new Float32Array(count * classes);
    const budget = fixed !== undefined ? 1 : maxIterations;
    for (;;) {
      const groups = new Map<number, number[]>();
      states.forEach((s, i) => {
        if (s.done) return;
        const rows = groups.get(s.task);
        if (rows === undefined) groups.set(s.task, [i]);
        else rows.push(i);
      });
      if (groups.size === 0) break;
      for (const [taskId, rows] of groups) {
        const logits = this.headLogits(inputs, rows, taskId);
        rows.forEach((row, j) => {
          head.set(logits.subarray(j * classes, (j + 1) * classes), row * classes);
          states[row] = refineStep(states[row], this.taskOfColumn[argmaxRow(logits, j * classes, classes)], budget);
        });
      }
    }
    return { states, head, proto };
  }

  /** Ensemble scores: softmax(head) + softmax(prototypes · tasks seen), or the head's softmax alone. */
  private ensembleScores(e: Evaluation, count: number, ensemble: boolean): Float32Array {
    const classes = this.classList.length;
    const out = new Float32Array(count * classes);
    const a = new Float64Array(classes);
    const b = new Float64Array(classes);
    for (let i = 0; i < count; i++) {
      softmaxRow(e.head, i * classes, classes, 1, a);
      if (ensemble) softmaxRow(e.proto, i * classes, classes, this.tasks.length, b);
      for (let j = 0; j < classes; j++) out[i * classes + j] = a[j] + (ensemble ? b[j] : 0);
    }
    return out;
  }

  private fixedTasks(taskId: number | ArrayLike<number>, count: number): Int32Array {
    if (typeof taskId === 'number') {
      this.checkTaskId(taskId, 'taskId');
      return new Int32Array(count).fill(taskId);
    }
    if (taskId.length !== count) throw invalidArgument('taskId', `has ${taskId.length} task ids for ${count} inputs`);
    const out = Int32Array.from(taskId);
    out.forEach((t, i) => {
      if (t !== taskId[i]) throw invalidArgument(`taskId[${i}]`, `must be an integer, got ${taskId[i]}`);
      this.checkTaskId(t, `taskId[${i}]`);
    });
    return out;
  }

  /** Class predictions, through the self-refined retrieval or (with `taskId`) the given adapters. */
  predict(inputs: ImageInputs, options: PredictOptions = {}): MosPrediction {
    const count = this.checkInputs(inputs);
    const maxIterations = options.maxIterations ?? this.options.maxIterations;
    checkMaxIterations(maxIterations);
    const fixed = options.taskId === undefined ? undefined : this.fixedTasks(options.taskId, count);
    const ensemble = options.ensemble ?? this.options.ensemble;
    if (typeof ensemble !== 'boolean') throw invalidArgument('ensemble', 'must be a boolean');
    const e = this.evaluate(inputs, count, fixed, maxIterations);
    const scores = this.ensembleScores(e, count, ensemble);
    const classes = this.classList.length;
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) labels[i] = this.classList[argmaxRow(scores, i * classes, classes)];
    return { labels, taskIds: Int32Array.from(e.states, (s) => s.task), scores, classes: [...this.classList] };
  }

  /** Which task adapter fits each input, with per-task scores and the refinement trace. */
  retrieve(inputs: ImageInputs, options: { maxIterations?: number } = {}): RetrievedTask[] {
    const count = this.checkInputs(inputs);
    const maxIterations = options.maxIterations ?? this.options.maxIterations;
    checkMaxIterations(maxIterations);
    const e = this.evaluate(inputs, count, undefined, maxIterations);
    const scores = this.ensembleScores(e, count, this.options.ensemble);
    const classes = this.classList.length;
    const total = this.options.ensemble ? 2 : 1;
    return e.states.map((s, i) => {
      const perTask = new Float32Array(this.tasks.length);
      for (let j = 0; j < classes; j++) perTask[this.taskOfColumn[j]] += scores[i * classes + j] / total;
      return { taskId: s.task, scores: perTask, refinements: s.refinements, iterations: s.iterations, label: this.classList[argmaxRow(scores, i * classes, classes)] };
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.current.dispose();
    this.head.dispose();
    for (const a of this.inference) a.dispose();
  }
}
