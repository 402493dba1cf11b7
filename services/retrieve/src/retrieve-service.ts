import { invalidArgument, PatchworkError } from '@patchwork/errors';
import {
  type ArtifactRecord,
  PredictManyRequest,
  PredictManyResponse,
  PredictRequest,
  PredictResponse,
  RetrieveRequest,
  RetrieveResponse,
  RetrieveService,
  ScoredAdapter,
} from '@patchwork/contracts';
import type { ModelInputs } from '@patchwork/models';
import { Runtime, ServiceModule, unary } from '@patchwork/platform';
import { type AdapterRecord, type Announcement, type TaskPrototypeRouter, type PredictBatcher, type RoutedPredictor, checkModelInputs, imagesOf, rankAdapters, resolveAdapter } from '@patchwork/retrieve';
import { adapterArtifacts, servableRecords } from './adapter-records';
import { isMosRouter, mosRoutingFor } from './mos-registry';
import { TaskRouters, taskRoutingFor } from './task-routing';
import { ServingPool, type ServingPoolOptions } from './serving-pool';
import { decodeInputs, disposeInputs, encodeLogits } from './tensor-blobs';

export const DEFAULT_TOP_K = 5;
/**
 * Without content to route on, the registry is ranked by the adapters' recorded accuracy
 * (averaged over their evaluations); adapters never evaluated come last, with a NaN score.
 */
export const RANKING_METRIC = 'accuracy';

const INPUTS_FIELD = 'inputs_safetensors';
const SHA256 = /^[0-9a-f]{64}$/;

function baseDigestOf(request: { baseModelDigest: string }): string {
  if (request.baseModelDigest === '') throw invalidArgument('base_model_digest', 'is required');
  return request.baseModelDigest;
}

/** Decodes the request's inputs and checks them against the base model before anything runs. */
async function withInputs<T>(runtime: Runtime, predictor: RoutedPredictor, bytes: Uint8Array, fn: (inputs: ModelInputs) => Promise<T>): Promise<T> {
  const inputs = await decodeInputs(bytes, INPUTS_FIELD, runtime.scratchDir);
  try {
    checkModelInputs(predictor.model, inputs, INPUTS_FIELD);
    return await fn(inputs);
  } finally {
    disposeInputs(inputs);
  }
}

function ranked(records: readonly AdapterRecord[], baseModelDigest: string) {
  return rankAdapters(records, { baseModelDigest, metric: RANKING_METRIC }).ranked;
}

/**
 * The retrieve service. Adapters are chosen by content when the registry holds a MOS adapter
 * set for the base (see `mos-registry.ts`): the set's learner runs its training-free self-refined
 * retrieval on the input's images and ranks the set's task adapters. Without one, adapters that
 * name the registered image task they were trained for (two tasks or more) are chosen by a
 * training-free prototype classifier on the base's features (see `task-routing.ts`). Otherwise,
 * and for Retrieve without inputs, adapters are ranked by their recorded evaluations.
 */
export class RetrieveHandlers {
  private readonly taskRouters = new TaskRouters();

  constructor(
    private readonly runtime: Runtime,
    private readonly pool: ServingPool,
  ) {}

  async retrieve(request: RetrieveRequest): Promise<RetrieveResponse> {
    const base = baseDigestOf(request);
    const topK = request.topK === 0 ? DEFAULT_TOP_K : request.topK;
    if (request.inputsSafetensors.length === 0) {
      await this.pool.checkBase(base);
      return { adapters: this.byEvaluations(await adapterArtifacts(this.runtime), base, topK) };
    }
    const predictor = await this.pool.predictor(base);
    const artifacts = await adapterArtifacts(this.runtime);
    const routing = mosRoutingFor(artifacts, base);
    const byTask = routing === undefined ? taskRoutingFor(artifacts, base, ranked(servableRecords(artifacts), base)) : undefined;
    return withInputs(this.runtime, predictor, request.inputsSafetensors, async (inputs) => {
      const taskRouter = byTask === undefined ? undefined : await this.taskRouters.get(byTask, predictor.model);
      if (routing === undefined && taskRouter === undefined) return { adapters: this.byEvaluations(artifacts, base, topK) };
      const images = imagesOf(inputs, INPUTS_FIELD);
      const routed = routing !== undefined ? await this.pool.withRouter(base, routing, (router) => router.rank(images)) : (taskRouter as TaskPrototypeRouter).rank(images);
      return { adapters: routed.slice(0, topK).map((r): ScoredAdapter => ({ adapterDigest: r.adapterId, score: r.score })) };
    });
  }

  private byEvaluations(artifacts: readonly ArtifactRecord[], base: string, topK: number): ScoredAdapter[] {
    return ranked(servableRecords(artifacts), base)
      .slice(0, topK)
      .map((r) => ({ adapterDigest: r.digest, score: r.score ?? Number.NaN }));
  }

  async predict(request: PredictRequest): Promise<PredictResponse> {
    const base = baseDigestOf(request);
    const batcher = await this.pool.batcher(base);
    const coming = batcher.announce();
    try {
      return await this.predictThrough(batcher, coming, base, request);
    } finally {
      coming.withdraw();
    }
  }

  private async predictThrough(batcher: PredictBatcher, coming: Announcement, base: string, request: PredictRequest): Promise<PredictResponse> {
    const artifacts = await adapterArtifacts(this.runtime);
    const named = request.adapterDigest === '' ? undefined : this.resolve(artifacts, base, request.adapterDigest, 'adapter_digest');
    const routing = named === undefined ? mosRoutingFor(artifacts, base) : undefined;
    const byTask = named === undefined && routing === undefined ? taskRoutingFor(artifacts, base, ranked(servableRecords(artifacts), base)) : undefined;
    return withInputs(this.runtime, batcher.predictor, request.inputsSafetensors, async (input) => {
      let adapterDigest = named;
      // One response names one adapter: a blob of several images goes where most of them route.
      if (adapterDigest === undefined && routing !== undefined) {
        const images = imagesOf(input, INPUTS_FIELD);
        adapterDigest = await this.pool.withRouter(base, routing, (router) => router.rank(images)[0].adapterId);
      } else if (adapterDigest === undefined && byTask !== undefined) {
        const taskRouter = await this.taskRouters.get(byTask, batcher.predictor.model);
        if (taskRouter !== undefined) adapterDigest = taskRouter.rank(imagesOf(input, INPUTS_FIELD))[0].adapterId;
      }
      if (adapterDigest === undefined) {
        const best = ranked(servableRecords(artifacts), base)[0];
        if (best === undefined) throw new PatchworkError('NOT_FOUND', `no adapter in the registry applies to base model ${base}`);
        adapterDigest = best.digest;
      }
      const [result] = await batcher.run([{ adapterId: adapterDigest, input }], coming);
      return { adapterDigest, outputsSafetensors: encodeLogits(result.logits, result.shape) };
    });
  }

  async predictMany(request: PredictManyRequest): Promise<PredictManyResponse> {
    const base = baseDigestOf(request);
    if (request.adapterDigests.length === 0) throw invalidArgument('adapter_digests', 'must name at least one adapter');
    const batcher = await this.pool.batcher(base);
    const coming = batcher.announce();
    try {
      const artifacts = await adapterArtifacts(this.runtime);
      const digests = request.adapterDigests.map((d, i) => this.resolve(artifacts, base, d, `adapter_digests[${i}]`));
      return await withInputs(this.runtime, batcher.predictor, request.inputsSafetensors, async (input) => {
        const results = await batcher.run(
          digests.map((adapterId) => ({ adapterId, input })),
          coming,
        );
        return { predictions: results.map((r, i) => ({ adapterDigest: digests[i], outputsSafetensors: encodeLogits(r.logits, r.shape) })) };
      });
    } finally {
      coming.withdraw();
    }
  }

  /** The record to run for `digest` on `base` (itself, or its port onto `base`). */
  private resolve(artifacts: readonly ArtifactRecord[], base: string, digest: string, field: string): string {
    if (!SHA256.test(digest)) throw invalidArgument(field, 'must be an adapter digest (a lowercase hex sha256, 64 characters)');
    const router = artifacts.find((a) => a.digest === digest && isMosRouter(a));
    if (router !== undefined) {
      throw new PatchworkError('FAILED_PRECONDITION', `${field}: ${digest} is a MOS router, which chooses between its task adapters; name one of them, or leave adapter_digest empty to route by content`);
    }
    return resolveAdapter(servableRecords(artifacts), { baseModelDigest: base, digest }).digest;
  }
}

/**
 * Adapter retrieval and serving: chooses adapters for a base model (by content through a MOS
 * router, else by recorded evaluations) and runs inputs through one or many of them, concurrent
 * requests batched over shared base forward passes (see @patchwork/retrieve).
 */
export function createRetrieveServiceModule(options: ServingPoolOptions = {}): ServiceModule {
  return {
    name: 'retrieve',
    grpcName: 'patchwork.v1.Retrieve',
    definition: RetrieveService,
    implementation: (runtime) => {
      const handlers = new RetrieveHandlers(runtime, new ServingPool(runtime, options));
      return {
        retrieve: unary((req: RetrieveRequest) => handlers.retrieve(req)),
        predict: unary((req: PredictRequest) => handlers.predict(req)),
        predictMany: unary((req: PredictManyRequest) => handlers.predictMany(req)),
      };
    },
    handlers: () => ({}),
  };
}

export const retrieveServiceModule: ServiceModule = createRetrieveServiceModule();
