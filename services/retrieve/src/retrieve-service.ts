import { invalidArgument, PatchworkError } from '@patchwork/errors';
import { PredictManyRequest, PredictManyResponse, PredictRequest, PredictResponse, RetrieveRequest, RetrieveResponse, RetrieveService } from '@patchwork/contracts';
import type { ModelInputs } from '@patchwork/models';
import { Runtime, ServiceModule, unary } from '@patchwork/platform';
import { type AdapterRecord, type RoutedPredictor, checkModelInputs, rankAdapters, resolveAdapter } from '@patchwork/retrieve';
import { adapterRecords } from './adapter-records';
import { ServingPool } from './serving-pool';
import { decodeInputs, disposeInputs, encodeLogits } from './tensor-blobs';

export const DEFAULT_TOP_K = 5;
/**
 * The request carries no metric, so the registry is ranked by the adapters' recorded accuracy
 * (averaged over their evaluations); adapters never evaluated come last, with a NaN score.
 */
export const RANKING_METRIC = 'accuracy';

function baseDigestOf(request: { baseModelDigest: string }): string {
  if (request.baseModelDigest === '') throw invalidArgument('base_model_digest', 'is required');
  return request.baseModelDigest;
}

/** Decodes the request's inputs and checks them against the base model before anything runs. */
async function withInputs<T>(runtime: Runtime, predictor: RoutedPredictor, bytes: Uint8Array, fn: (inputs: ModelInputs) => Promise<T>): Promise<T> {
  const inputs = await decodeInputs(bytes, 'inputs_safetensors', runtime.scratchDir);
  try {
    checkModelInputs(predictor.model, inputs, 'inputs_safetensors');
    return await fn(inputs);
  } finally {
    disposeInputs(inputs);
  }
}

function ranked(records: readonly AdapterRecord[], baseModelDigest: string) {
  return rankAdapters(records, { baseModelDigest, metric: RANKING_METRIC }).ranked;
}

export class RetrieveHandlers {
  constructor(
    private readonly runtime: Runtime,
    private readonly pool: ServingPool,
  ) {}

  async retrieve(request: RetrieveRequest): Promise<RetrieveResponse> {
    const base = baseDigestOf(request);
    // Ranking reads the registry only (recorded evaluations), not the input's content: routing by
    // content needs a trained MOS learner whose task ids map to registry adapters, which the registry
    // does not record. Inputs, when sent, are still checked so a bad request fails here and not
    // later at Predict; the base model is loaded only then.
    if (request.inputsSafetensors.length > 0) await withInputs(this.runtime, await this.pool.predictor(base), request.inputsSafetensors, async () => undefined);
    else await this.pool.checkBase(base);
    const topK = request.topK === 0 ? DEFAULT_TOP_K : request.topK;
    const adapters = ranked(await adapterRecords(this.runtime), base)
      .slice(0, topK)
      .map((r) => ({ adapterDigest: r.digest, score: r.score ?? Number.NaN }));
    return { adapters };
  }

  async predict(request: PredictRequest): Promise<PredictResponse> {
    const base = baseDigestOf(request);
    const predictor = await this.pool.predictor(base);
    const records = await adapterRecords(this.runtime);
    let adapterDigest: string;
    if (request.adapterDigest === '') {
      const best = ranked(records, base)[0];
      if (best === undefined) throw new PatchworkError('NOT_FOUND', `no adapter in the registry applies to base model ${base}`);
      adapterDigest = best.digest;
    } else {
      adapterDigest = this.resolve(records, base, request.adapterDigest, 'adapter_digest');
    }
    return withInputs(this.runtime, predictor, request.inputsSafetensors, async (input) => {
      const [result] = await predictor.predictBatched([{ adapterId: adapterDigest, input }]);
      return { adapterDigest, outputsSafetensors: await encodeLogits(result.logits, result.shape, this.runtime.scratchDir) };
    });
  }

  async predictMany(request: PredictManyRequest): Promise<PredictManyResponse> {
    const base = baseDigestOf(request);
    if (request.adapterDigests.length === 0) throw invalidArgument('adapter_digests', 'must name at least one adapter');
    const predictor = await this.pool.predictor(base);
    const records = await adapterRecords(this.runtime);
    const digests = request.adapterDigests.map((d, i) => this.resolve(records, base, d, `adapter_digests[${i}]`));
    return withInputs(this.runtime, predictor, request.inputsSafetensors, async (input) => {
      const results = await predictor.predictMany(input, digests);
      const predictions: PredictResponse[] = [];
      for (const [i, r] of results.entries()) {
        predictions.push({ adapterDigest: digests[i], outputsSafetensors: await encodeLogits(r.logits, r.shape, this.runtime.scratchDir) });
      }
      return { predictions };
    });
  }

  /** The record to run for `digest` on `base` (itself, or its port onto `base`). */
  private resolve(records: readonly AdapterRecord[], base: string, digest: string, field: string): string {
    if (digest === '') throw invalidArgument(field, 'must be an adapter digest');
    return resolveAdapter(records, { baseModelDigest: base, digest }).digest;
  }
}

/**
 * Adapter retrieval and serving: ranks the registry's adapters for a base model and runs inputs
 * through one or many of them, batched over a shared base forward pass (see @patchwork/retrieve).
 */
export const retrieveServiceModule: ServiceModule = {
  name: 'retrieve',
  grpcName: 'patchwork.v1.Retrieve',
  definition: RetrieveService,
  implementation: (runtime) => {
    const handlers = new RetrieveHandlers(runtime, new ServingPool(runtime));
    return {
      retrieve: unary((req: RetrieveRequest) => handlers.retrieve(req)),
      predict: unary((req: PredictRequest) => handlers.predict(req)),
      predictMany: unary((req: PredictManyRequest) => handlers.predictMany(req)),
    };
  },
  handlers: () => ({}),
};
