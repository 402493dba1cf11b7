import { PatchworkError } from '@patchwork/errors';
import { ArtifactKind } from '@patchwork/contracts';
import { type Model, loadModel } from '@patchwork/models';
import { loadAdapter } from '@patchwork/peft';
import type { Runtime } from '@patchwork/platform';
import { AdapterCache, RoutedPredictor, type ServableAdapter, adapterBytes } from '@patchwork/retrieve';

export const DEFAULT_ADAPTER_BUDGET_BYTES = 256 * 1024 * 1024;

/**
 * Process-wide serving state: one loaded model and predictor per base digest (loaded once, shared
 * by concurrent first requests) and one adapter cache for all bases under a single byte budget.
 */
export class ServingPool {
  private readonly predictors = new Map<string, Promise<RoutedPredictor>>();
  readonly adapters: AdapterCache<ServableAdapter>;

  constructor(
    private readonly runtime: Runtime,
    budgetBytes = DEFAULT_ADAPTER_BUDGET_BYTES,
  ) {
    this.adapters = new AdapterCache<ServableAdapter>({ budgetBytes, load: (id) => this.loadAdapter(id), sizeOf: adapterBytes });
  }

  /** The predictor for base `digest`; NOT_FOUND if unknown, FAILED_PRECONDITION if it is not a model. */
  predictor(digest: string): Promise<RoutedPredictor> {
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

  private async loadBase(digest: string): Promise<RoutedPredictor> {
    await this.checkBase(digest);
    const model: Model = await loadModel(await this.runtime.artifacts.materialize(digest));
    return new RoutedPredictor(model, this.adapters);
  }

  private async loadAdapter(digest: string): Promise<ServableAdapter> {
    const record = await this.runtime.artifacts.get(digest);
    if (record.baseModelDigest === '') throw new PatchworkError('FAILED_PRECONDITION', `adapter ${digest} records no base model`);
    const { model } = await this.predictor(record.baseModelDigest);
    return loadAdapter(await this.runtime.artifacts.materialize(digest), model);
  }
}
