import { CompareModelsRequest, EvaluateService, SubmitEvaluationRequest } from '@patchwork/contracts';
import { Runtime, ServiceModule, unary } from '@patchwork/platform';
import { checkCompareRequest, compareJobHandler } from './compare-job';
import { loadTask } from './evaluation-inputs';
import { evaluationJobHandler, evaluationShardHandler } from './evaluation-job';
import { evaluationSpecFromRequest } from './evaluation-spec';

export { COMPATIBILITY_FILE } from './compare-job';
export { RESULTS_FILE, samplesFile } from './evaluation-job';
export { evaluationSpecFromRequest } from './evaluation-spec';
export type { EvaluationSpec } from './evaluation-spec';

/** Checks the request and that its task and model resolve, before a job is accepted. */
function submitEvaluation(runtime: Runtime) {
  return async (request: SubmitEvaluationRequest) => {
    const spec = evaluationSpecFromRequest(request);
    await loadTask(spec.task);
    await runtime.resolveModel(spec.modelRef, 'model');
    if (spec.adapterDigest) await runtime.artifacts.get(spec.adapterDigest);
    return runtime.jobs.submit({
      service: 'evaluate',
      kind: 'evaluate',
      requestId: request.requestId,
      request: SubmitEvaluationRequest.encode(request).finish(),
      labels: request.labels,
    });
  };
}

function compareModels(runtime: Runtime) {
  return async (request: CompareModelsRequest) => {
    checkCompareRequest(request);
    await Promise.all([runtime.jobs.get(request.oldJobId), runtime.jobs.get(request.newJobId)]);
    return runtime.jobs.submit({ service: 'evaluate', kind: 'compare', requestId: request.requestId, request: CompareModelsRequest.encode(request).finish() });
  };
}

/**
 * Evaluation scales on its own: a job is a coordinator that fans documents out in shards on
 * `jobs.evaluate-shards`; every evaluate replica pulls shards, so adding replicas adds throughput.
 */
export const evaluateServiceModule: ServiceModule = {
  name: 'evaluate',
  grpcName: 'patchwork.v1.Evaluate',
  definition: EvaluateService,
  implementation: (runtime) => ({ submitEvaluation: unary(submitEvaluation(runtime)), compareModels: unary(compareModels(runtime)) }),
  handlers: (runtime) => ({ evaluate: evaluationJobHandler(runtime), compare: compareJobHandler(runtime) }),
  shardHandler: evaluationShardHandler,
};
