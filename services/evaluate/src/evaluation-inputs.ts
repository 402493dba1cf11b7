import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { EvaluableAdapter, EvaluableModel, loadTaskConfig, loadTaskDocs, parseTaskYaml, ResourceCache, ResourceLease, TaskConfig, TaskDocs } from '@patchwork/evaluate';
import { loadModel } from '@patchwork/models';
import { loadAdapter } from '@patchwork/peft';
import type { Runtime } from '@patchwork/platform';
import { loadTokenizer, Tokenizer } from '@patchwork/tokenizers';
import type { EvaluationSpec } from './evaluation-spec';

/** A model with its adapter and tokenizer, loaded once per replica and shared by the shards that use it. */
export interface LoadedModel {
  model: EvaluableModel;
  adapter?: EvaluableAdapter;
  tokenizer?: Tokenizer;
  dispose(): void;
}

/**
 * What a replica keeps between shards. Two models cover a job plus the baseline or candidate it
 * is compared with; a model idle for ten minutes is freed so an idle replica does not sit on
 * gigabytes. Documents are small next to models, so a few tasks' worth stay.
 */
export interface EvaluationCaches {
  models: ResourceCache<LoadedModel>;
  docs: ResourceCache<TaskDocs>;
}

export const MODEL_CACHE_ENTRIES = 2;
export const DOCS_CACHE_ENTRIES = 4;
export const CACHE_IDLE_MS = 10 * 60_000;

const cachesByRuntime = new WeakMap<Runtime, EvaluationCaches>();

/** The caches of one running service (one per runtime, shared by its coordinator and shard handlers). */
export function evaluationCaches(runtime: Runtime): EvaluationCaches {
  let caches = cachesByRuntime.get(runtime);
  if (caches === undefined) {
    caches = {
      models: new ResourceCache<LoadedModel>({ maxEntries: MODEL_CACHE_ENTRIES, idleMs: CACHE_IDLE_MS }),
      docs: new ResourceCache<TaskDocs>({ maxEntries: DOCS_CACHE_ENTRIES, idleMs: CACHE_IDLE_MS, dispose: () => undefined }),
    };
    cachesByRuntime.set(runtime, caches);
  }
  return caches;
}

export function loadTask(task: string): Promise<TaskConfig> {
  return task.includes('\n') ? Promise.resolve(parseTaskYaml(task, 'task')) : loadTaskConfig(task);
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** The documents of a task's split, from the cache: they depend on the dataset, split and its arguments only. */
export function acquireDocs(caches: EvaluationCaches, task: TaskConfig): Promise<ResourceLease<TaskDocs>> {
  const key = JSON.stringify({ dataset: task.dataset, kind: task.dataset_kind, split: task.split, kwargs: task.dataset_kwargs });
  return caches.docs.acquire(key, async () => loadTaskDocs(task));
}

/**
 * What identifies a model's bytes: an artifact digest as is; for a directory on a shared volume,
 * each file's name, size, mtime and inode, so a model rewritten in place is loaded afresh.
 */
async function modelIdentity(runtime: Runtime, modelRef: string): Promise<{ identity: string; dir?: string }> {
  if (modelRef.startsWith('artifact:')) return { identity: modelRef };
  // Resolved on every shard, cached or not: the model roots are checked each time.
  const dir = await runtime.resolveModel(modelRef, 'model');
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => {
        const s = await fs.stat(path.join(dir, e.name), { bigint: true });
        return `${e.name}:${s.size}:${s.mtimeNs}:${s.ino}`;
      }),
  );
  return { identity: `path:${dir}|${files.sort().join('|')}`, dir };
}

async function loadModelInputs(runtime: Runtime, spec: EvaluationSpec, resolvedDir: string | undefined): Promise<LoadedModel> {
  const modelDir = resolvedDir ?? (await runtime.resolveModel(spec.modelRef, 'model'));
  const model = await loadModel(modelDir);
  try {
    const adapter = spec.adapterDigest ? await loadAdapter(await runtime.artifacts.materialize(spec.adapterDigest), model) : undefined;
    const tokenizerFile = path.join(modelDir, 'tokenizer.json');
    const tokenizer = (await exists(tokenizerFile)) ? await loadTokenizer(tokenizerFile) : undefined;
    return {
      model,
      adapter,
      tokenizer,
      dispose: () => {
        adapter?.dispose();
        model.dispose();
      },
    };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * The model (with adapter and tokenizer) an evaluation runs on, from the replica's cache: the
 * shards of a job, and later jobs on the same model, load it once. Release the lease when done.
 */
export async function acquireModel(runtime: Runtime, caches: EvaluationCaches, spec: EvaluationSpec): Promise<ResourceLease<LoadedModel>> {
  const { identity, dir } = await modelIdentity(runtime, spec.modelRef);
  const key = JSON.stringify({ model: identity, adapter: spec.adapterDigest ?? null });
  return caches.models.acquire(key, () => loadModelInputs(runtime, spec, dir));
}

export function modelNameOf(spec: EvaluationSpec): string {
  return spec.adapterDigest ? `${spec.modelRef}+adapter:${spec.adapterDigest}` : spec.modelRef;
}
