import { ArtifactKind, type ArtifactRecord } from '@patchwork/contracts';
import { getTask, loadTask } from '@patchwork/datasets';
import type { Model } from '@patchwork/models';
import { type TaskExamples, TaskPrototypeRouter } from '@patchwork/retrieve';

/** Label naming the registered task an adapter was trained for (the train service sets it). */
export const TASK_LABEL = 'task';
/** Examples per task the prototypes are built from: enough for stable class means, quick to embed. */
export const EXAMPLES_PER_TASK = 512;
const CACHED_ROUTERS = 8;
/** Every registered image task is the 8x8 single-channel digits. */
const DIGIT_PIXELS = 64;

export interface TaskRouting {
  /** The base and the routed adapters: a registry change makes a new key, hence a new router. */
  readonly key: string;
  readonly adapters: readonly { readonly digest: string; readonly task: string }[];
}

function imageTask(name: string | undefined): boolean {
  if (name === undefined) return false;
  try {
    const task = getTask(name);
    return task.kind === 'task' && task.inputKind === 'image';
  } catch {
    return false;
  }
}

/**
 * The adapters of `base` that say which registered image task they were trained for, one per task
 * (the best ranked, `rankedAdapters` being the registry's ranking), when there are at least two
 * tasks to choose between.
 */
export function taskRoutingFor(artifacts: readonly ArtifactRecord[], base: string, rankedAdapters: readonly { readonly digest: string }[]): TaskRouting | undefined {
  const byDigest = new Map(artifacts.map((a) => [a.digest, a]));
  const chosen = new Map<string, string>();
  for (const r of rankedAdapters) {
    const record = byDigest.get(r.digest);
    const task = record?.labels[TASK_LABEL];
    if (record?.kind !== ArtifactKind.ARTIFACT_KIND_ADAPTER || record.baseModelDigest !== base || !imageTask(task)) continue;
    if (!chosen.has(task as string)) chosen.set(task as string, r.digest);
  }
  if (chosen.size < 2) return undefined;
  const adapters = [...chosen].map(([task, digest]) => ({ digest, task })).sort((a, b) => (a.task < b.task ? -1 : 1));
  return { key: `${base}:${adapters.map((a) => `${a.task}=${a.digest}`).join(',')}`, adapters };
}

/** Prototype routers by routing key, built once (the tasks' training images through the base). */
export class TaskRouters {
  private readonly routers = new Map<string, Promise<TaskPrototypeRouter>>();

  /** The router, or undefined when the base does not read the tasks' images (another image size). */
  async get(routing: TaskRouting, model: Model): Promise<TaskPrototypeRouter | undefined> {
    const size = Number(model.config['image_size']);
    const channels = Number(model.config['num_channels'] ?? 3);
    if (model.modelType !== 'vit' || size * size * channels !== DIGIT_PIXELS) return undefined;
    let router = this.routers.get(routing.key);
    if (router === undefined) {
      router = Promise.resolve().then(() => {
        const tasks: TaskExamples[] = routing.adapters.map(({ digest, task }) => {
          const train = loadTask(task).train;
          const n = Math.min(EXAMPLES_PER_TASK, train.ids.length);
          return { adapterId: digest, images: train.inputs.slice(0, n) as Float32Array[], labels: train.labels.subarray(0, n) };
        });
        return TaskPrototypeRouter.build(model, tasks);
      });
      router.catch(() => this.routers.delete(routing.key));
      this.routers.set(routing.key, router);
      // Routers hold only prototypes (the model is the pool's), so dropping the oldest frees them.
      if (this.routers.size > CACHED_ROUTERS) this.routers.delete(this.routers.keys().next().value as string);
    }
    return router;
  }
}
