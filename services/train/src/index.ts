import { BuildBackboneRequest, SubmitTrainRequest, TrainService } from '@patchwork/contracts';
import { type Runtime, type ServiceModule, unary } from '@patchwork/platform';
import { backboneJobHandler } from './backbone-job';
import { trainJobHandler } from './train-job';
import { backboneSpecFromRequest, trainSpecFromRequest } from './train-request';

export { TRAIN_METRICS_FILE, trainEvaluationName } from './train-job';
export { MAX_CONFIG_BYTES, trainSpecFromRequest } from './train-request';

function submitTrain(runtime: Runtime) {
  return async (request: SubmitTrainRequest) => {
    const spec = trainSpecFromRequest(request);
    // Artifacts and paths are checked now (backbone names are built when the job runs).
    if (spec.baseRef.startsWith('artifact:') || spec.baseRef.startsWith('path:')) await runtime.resolveModel(spec.baseRef, 'base_model');
    return runtime.jobs.submit({ service: 'train', kind: 'train', requestId: request.requestId, request: SubmitTrainRequest.encode(request).finish(), labels: request.labels });
  };
}

function buildBackbone(runtime: Runtime) {
  return async (request: BuildBackboneRequest) => {
    backboneSpecFromRequest(request);
    return runtime.jobs.submit({ service: 'train', kind: 'backbone', requestId: request.requestId, request: BuildBackboneRequest.encode(request).finish(), labels: request.labels });
  };
}

export const trainServiceModule: ServiceModule = {
  name: 'train',
  grpcName: 'patchwork.v1.Train',
  definition: TrainService,
  implementation: (runtime) => ({ submitTrain: unary(submitTrain(runtime)), buildBackbone: unary(buildBackbone(runtime)) }),
  handlers: (runtime) => ({ train: trainJobHandler(runtime), backbone: backboneJobHandler(runtime) }),
};
