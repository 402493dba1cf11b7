import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { ModelInputs } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import type { ImageInputs } from './image-inputs';
import type { MosLearner, RetrievedTask } from './mos-learner';

/** A task adapter as ranked for some input: `score` is the ensemble's probability mass on its classes. */
export interface RoutedTask {
  readonly taskId: number;
  /** Mean over the input's images of the mass on this task's classes (sums to 1 over tasks). */
  readonly score: number;
  /** Images whose self-refined retrieval chose this task. */
  readonly votes: number;
}

export interface RoutedAdapter extends RoutedTask {
  readonly adapterId: string;
}

/** One image's route: the adapter its self-refined retrieval chose, and every adapter ranked. */
export interface ImageRoute {
  readonly adapterId: string;
  readonly taskId: number;
  readonly refinements: number;
  readonly ranked: RoutedAdapter[];
}

/**
 * Ranks the tasks of a learner for a group of images routed together: first the tasks the
 * self-refined retrieval chose, by how many images chose them, then by mean ensemble mass, then
 * by task id. For one image that is its chosen task first, the others by mass. The retrieval's
 * choice leads even where another task has more mass, since the choice is MOS's decision (the
 * head under the chosen adapter agreed with itself) and the mass is only its confidence.
 */
export function rankRoutedTasks(retrieved: readonly RetrievedTask[], numTasks: number): RoutedTask[] {
  if (!Number.isSafeInteger(numTasks) || numTasks < 1) throw invalidArgument('numTasks', `must be a positive integer, got ${numTasks}`);
  if (retrieved.length === 0) throw invalidArgument('retrieved', 'holds no image');
  const votes = new Array<number>(numTasks).fill(0);
  const mass = new Array<number>(numTasks).fill(0);
  retrieved.forEach((r, i) => {
    if (!Number.isSafeInteger(r.taskId) || r.taskId < 0 || r.taskId >= numTasks) throw invalidArgument(`retrieved[${i}].taskId`, `must be a task in [0, ${numTasks})`);
    if (r.scores.length !== numTasks) throw invalidArgument(`retrieved[${i}].scores`, `has ${r.scores.length} task scores, expected ${numTasks}`);
    votes[r.taskId]++;
    for (let k = 0; k < numTasks; k++) mass[k] += r.scores[k];
  });
  return votes
    .map((v, taskId) => ({ taskId, votes: v, score: mass[taskId] / retrieved.length }))
    .sort((a, b) => b.votes - a.votes || b.score - a.score || a.taskId - b.taskId);
}

/** The `pixel_values` of model inputs as the flat images MOS reads (finite values only). */
export function imagesOf(inputs: ModelInputs, field: string): Float32Array {
  const pixels = inputs.pixelValues;
  if (!(pixels instanceof tf.Tensor)) throw invalidArgument(`${field}.pixel_values`, 'is required: content-based routing reads images');
  const values = pixels.dataSync() as Float32Array;
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw invalidArgument(`${field}.pixel_values`, `value ${bad} is ${values[bad]}; pixels must be finite`);
  return values;
}

/**
 * Content-based routing over the task adapters of one MOS learner: the learner's training-free
 * self-refined retrieval picks a task per image, and `adapterIds[k]` names the servable adapter
 * of task k (a registry digest, a directory). Owns the learner.
 */
export class MosRouter {
  private readonly ids: readonly string[];

  constructor(
    readonly learner: MosLearner,
    adapterIds: readonly string[],
  ) {
    if (!Array.isArray(adapterIds) || adapterIds.length !== learner.numTasks) {
      throw new PatchworkError('FAILED_PRECONDITION', `the MOS router has ${learner.numTasks} tasks but ${Array.isArray(adapterIds) ? adapterIds.length : 0} task adapters were given`);
    }
    adapterIds.forEach((id, k) => {
      if (typeof id !== 'string' || id === '') throw invalidArgument(`adapterIds[${k}]`, 'must be a non-empty adapter id');
    });
    if (new Set(adapterIds).size !== adapterIds.length) throw invalidArgument('adapterIds', 'names one adapter for two tasks');
    this.ids = [...adapterIds];
  }

  get adapterIds(): readonly string[] {
    return this.ids;
  }

  private named(ranked: readonly RoutedTask[]): RoutedAdapter[] {
    return ranked.map((r) => ({ ...r, adapterId: this.ids[r.taskId] }));
  }

  /** Every image's own route. */
  routeImages(images: ImageInputs): ImageRoute[] {
    const retrieved = this.learner.retrieve(images);
    return retrieved.map((r) => ({ adapterId: this.ids[r.taskId], taskId: r.taskId, refinements: r.refinements, ranked: this.named(rankRoutedTasks([r], this.ids.length)) }));
  }

  /** The task adapters ranked for all `images` taken as one request (see `rankRoutedTasks`). */
  rank(images: ImageInputs): RoutedAdapter[] {
    return this.named(rankRoutedTasks(this.learner.retrieve(images), this.ids.length));
  }

  dispose(): void {
    this.learner.dispose();
  }
}
