import { PatchworkError } from '@patchwork/errors';
import { ArtifactKind } from '@patchwork/contracts';
import { type Model, loadModel } from '@patchwork/models';
import type { Runtime } from '@patchwork/platform';
import {
  AdapterCache,
  type BatchingOptions,
  DEFAULT_BATCHING,
  MOS_WEIGHTS_FILE,
  MosRouter,
  PredictBatcher,
  RoutedPredictor,
  type ServableAdapter,
  adapterBytes,
  checkBatchingOptions,
  loadMosLearner,
  loadServableAdapter,
  readMosTaskConfig,
} from '@patchwork/retrieve';
import type { MosRouting } from './mos-registry';

export const DEFAULT_ADAPTER_BUDGET_BYTES = 256 * 1024 * 1024;

export interface ServingPoolOptions {
  /** Byte budget of the loaded adapters, all bases together. */
  readonly adapterBudgetBytes?: number;
  /** Coalescing of concurrent predictions into shared forward passes. */
  readonly batching?: BatchingOptions;
}

interface RouterEntry {
  /** The task adapters the router was built with; a registry change builds a new one. */
  readonly key: string;
  readonly router: Promise<MosRouter>;
  users: number;
  retired: boolean;
}

/**
 * Process-wide serving state: one loaded model, predictor and batcher per base digest (loaded
 * once, shared by concurrent first requests), one adapter cache for all bases under a single byte
 * budget, and the MOS routers in use.
 */
export class ServingPool {
  private readonly predictors = new Map<string, Promise<PredictBatcher>>();
  private readonly routers = new Map<string, RouterEntry>();
  private readonly batching: BatchingOptions;
  readonly adapters: AdapterCache<ServableAdapter>;

  constructor(
    private readonly runtime: Runtime,
    options: ServingPoolOptions = {},
  ) {
    this.batching = checkBatchingOptions(options.batching ?? DEFAULT_BATCHING);
    this.adapters = new AdapterCache<ServableAdapter>({
      budgetBytes: options.adapterBudgetBytes ?? DEFAULT_ADAPTER_BUDGET_BYTES,
      load: (id) => this.loadAdapter(id),
      sizeOf: adapterBytes,
    });
  }

  /** The predictor for base `digest`; NOT_FOUND if unknown, FAILED_PRECONDITION if it is not a model. */
  async predictor(digest: string): Promise<RoutedPredictor> {
    return (await this.batcher(digest)).predictor;
  }

  /** The batcher in front of base `digest`'s predictor (same errors as `predictor`). */
  batcher(digest: string): Promise<PredictBatcher> {
    let pending = this.predictors.get(digest);
    if (pending === undefined) {
      pending = this.loadBase(digest);
      this.predictors.set(digest, pending);
      // A failed load is not remembered, so a later request can retry it.
      pending.catch(() => this.predictors.delete(digest));
    }
    return pending;
  }

  /** Checks that `digest` names a registered model without loading it. */
  async checkBase(digest: string): Promise<void> {
    const record = await this.runtime.artifacts.get(digest);
    if (record.kind !== ArtifactKind.ARTIFACT_KIND_MODEL) {
      throw new PatchworkError('FAILED_PRECONDITION', `base_model_digest ${digest} is a ${ArtifactKind[record.kind]} artifact, not a model`);
    }
  }

  /**
   * Runs `fn` with the MOS router of `routing` on base `base` (loaded once per router and task
   * adapters). A router replaced by a registry change is disposed once no call uses it.
   */
  async withRouter<T>(base: string, routing: MosRouting, fn: (router: MosRouter) => T): Promise<T> {
    const digest = routing.router.digest;
    const key = [...routing.tasks].sort((a, b) => a[0] - b[0]).map(([k, d]) => `${k}:${d}`).join(',');
    let entry = this.routers.get(digest);
    if (entry === undefined || entry.key !== key) {
      if (entry !== undefined) this.retire(entry);
      const created: RouterEntry = { key, router: this.loadRouter(base, routing), users: 0, retired: false };
      created.router.catch(() => {
        if (this.routers.get(digest) === created) this.routers.delete(digest);
      });
      this.routers.set(digest, created);
      entry = created;
    }
    entry.users++;
    try {
      return fn(await entry.router);
    } finally {
      entry.users--;
      if (entry.retired && entry.users === 0) this.dispose(entry);
    }
  }

  private retire(entry: RouterEntry): void {
    entry.retired = true;
    if (entry.users === 0) this.dispose(entry);
  }

  private dispose(entry: RouterEntry): void {
    entry.router.then(
      (r) => r.dispose(),
      () => undefined,
    );
  }

  private async loadBase(digest: string): Promise<PredictBatcher> {
    await this.checkBase(digest);
    const model: Model = await loadModel(await this.runtime.artifacts.materialize(digest));
    return new PredictBatcher(new RoutedPredictor(model, this.adapters), this.batching);
  }

  private async loadAdapter(digest: string): Promise<ServableAdapter> {
    const record = await this.runtime.artifacts.get(digest);
    if (record.baseModelDigest === '') throw new PatchworkError('FAILED_PRECONDITION', `adapter ${digest} records no base model`);
    const { model } = await this.predictor(record.baseModelDigest);
    return loadServableAdapter(await this.runtime.artifacts.materialize(digest), model);
  }

  /**
   * The router's learner on the base model, with the task adapters the registry labels for it.
   * Each of them must be the router's task (its config names the task and the digest of the
   * router's weights), one per task: a mislabelled registry is FAILED_PRECONDITION.
   */
  private async loadRouter(base: string, routing: MosRouting): Promise<MosRouter> {
    const { router } = routing;
    const weights = router.files.find((f) => f.path === MOS_WEIGHTS_FILE);
    if (weights === undefined) throw new PatchworkError('FAILED_PRECONDITION', `MOS router ${router.digest} has no ${MOS_WEIGHTS_FILE}`);
    const { model } = await this.predictor(base);
    const learner = await loadMosLearner(await this.runtime.artifacts.materialize(router.digest), model);
    try {
      const ids: string[] = [];
      for (let k = 0; k < learner.numTasks; k++) {
        const digest = routing.tasks.get(k);
        if (digest === undefined) throw new PatchworkError('FAILED_PRECONDITION', `MOS router ${router.digest} has ${learner.numTasks} tasks but no adapter is registered for task ${k}`);
        const config = await readMosTaskConfig(await this.runtime.artifacts.materialize(digest));
        if (config.task_id !== k || config.router_weights_sha256 !== weights.digest) {
          const saved = config.router_weights_sha256 === weights.digest ? `task ${config.task_id} of that router` : 'a task of another router';
          throw new PatchworkError('FAILED_PRECONDITION', `adapter ${digest} is labelled task ${k} of MOS router ${router.digest} but was saved as ${saved}`);
        }
        ids.push(digest);
      }
      const extra = [...routing.tasks.keys()].filter((k) => k >= learner.numTasks);
      if (extra.length > 0) throw new PatchworkError('FAILED_PRECONDITION', `MOS router ${router.digest} has ${learner.numTasks} tasks; adapters are labelled for task(s) ${extra.join(', ')}`);
      return new MosRouter(learner, ids);
    } catch (e) {
      learner.dispose();
      throw e;
    }
  }
}
