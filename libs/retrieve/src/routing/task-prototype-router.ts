import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { featuresOf } from '../mos/features';
import { type ImageInputs, imageCount, imageGeometry } from '../mos/image-inputs';
import type { RoutedAdapter } from '../mos/mos-router';
import { PrototypeClassifier } from '../mos/prototype-classifier';

/** The labelled examples that describe one adapter's task (its training images, say). */
export interface TaskExamples {
  readonly adapterId: string;
  readonly images: ImageInputs;
  readonly labels: ArrayLike<number>;
}

/**
 * Training-free routing between adapters trained independently (LoRA, HUT, ...), each for a task
 * of its own: the prototype classifier of SimpleCIL / MOS on the frozen base's features, with one
 * prototype per class of every adapter's task. An image votes for the adapter that owns its
 * nearest prototype (cosine); adapters are ranked by votes, then by their best similarity
 * averaged over the images. Unlike `MosRouter` it needs no learner, only each task's examples.
 */
export class TaskPrototypeRouter {
  private constructor(
    private readonly model: Model,
    private readonly classifier: PrototypeClassifier,
    /** The adapter index of each prototype, in the classifier's column order. */
    private readonly owners: readonly number[],
    readonly adapterIds: readonly string[],
  ) {}

  /** Prototypes of every task's classes from `examples` (the model stays the caller's). */
  static build(model: Model, tasks: readonly TaskExamples[]): TaskPrototypeRouter {
    if (tasks.length < 2) throw invalidArgument('tasks', `routing needs at least two adapters, got ${tasks.length}`);
    const ids = tasks.map((t) => t.adapterId);
    if (new Set(ids).size !== ids.length) throw invalidArgument('tasks', 'names one adapter twice');
    const geometry = imageGeometry(model);
    const classifier = new PrototypeClassifier(model.hiddenSize);
    const owners: number[] = [];
    tasks.forEach((task, k) => {
      const count = imageCount(task.images, geometry, `tasks[${k}].images`);
      if (task.labels.length !== count) throw invalidArgument(`tasks[${k}].labels`, `has ${task.labels.length} labels for ${count} images`);
      const features = featuresOf(model, task.images, geometry, count);
      // Class ids made unique across tasks: the classifier's columns are then (task, class) pairs.
      const offset = owners.length;
      const local = [...new Set(Array.from(task.labels))].sort((a, b) => a - b);
      const global = Int32Array.from(task.labels, (y) => offset + local.indexOf(y));
      classifier.addClasses(features, global);
      for (let i = 0; i < local.length; i++) owners.push(k);
    });
    // The classifier keeps first-seen order per task; map columns back to their owners by label.
    const columnOwners = classifier.classes.map((label) => owners[label]);
    return new TaskPrototypeRouter(model, classifier, columnOwners, ids);
  }

  /** The adapters ranked for all `images` taken as one request. */
  rank(images: ImageInputs): RoutedAdapter[] {
    const geometry = imageGeometry(this.model);
    const count = imageCount(images, geometry, 'images');
    const scores = tf.tidy(() => {
      const features = tf.tensor2d(featuresOf(this.model, images, geometry, count), [count, this.model.hiddenSize]);
      return this.classifier.scores(features).dataSync() as Float32Array;
    });
    const columns = this.owners.length;
    const votes = new Array<number>(this.adapterIds.length).fill(0);
    const best = new Array<number>(this.adapterIds.length).fill(0);
    for (let i = 0; i < count; i++) {
      const perAdapter = new Array<number>(this.adapterIds.length).fill(-Infinity);
      let top = 0;
      for (let c = 0; c < columns; c++) {
        const s = scores[i * columns + c];
        if (s > scores[i * columns + top]) top = c;
        perAdapter[this.owners[c]] = Math.max(perAdapter[this.owners[c]], s);
      }
      votes[this.owners[top]]++;
      perAdapter.forEach((s, k) => (best[k] += s / count));
    }
    if (votes.every((v) => v === 0)) throw new PatchworkError('INTERNAL', 'no image voted');
    return this.adapterIds
      .map((adapterId, taskId) => ({ adapterId, taskId, votes: votes[taskId], score: best[taskId] }))
      .sort((a, b) => b.votes - a.votes || b.score - a.score || a.taskId - b.taskId);
  }
}
