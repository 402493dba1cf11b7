import { MergeService, SubmitJobResponse, SubmitMergeRequest } from '@patchwork/contracts';
import { planMerge } from '@patchwork/merge';
import { Runtime, ServiceModule, unary } from '@patchwork/platform';
import { mergeInputResolver } from './adapted-inputs';
import { mergeJobHandler } from './merge-job';
import { mergeConfigFromRequest } from './merge-request';

export const MERGE_JOB_KIND = 'merge';

/**
 * SubmitMerge validates the request and runs the merge's pre-flight (headers, shapes, parameters)
 * before accepting the job, so a bad request fails the call rather than a job later.
 */
export function submitMerge(runtime: Runtime) {
  return async (request: SubmitMergeRequest): Promise<SubmitJobResponse> => {
    const config = mergeConfigFromRequest(request);
    const plan = await planMerge(config, mergeInputResolver(runtime));
    await plan.close();
    return runtime.jobs.submit({
      service: 'merge',
      kind: MERGE_JOB_KIND,
      requestId: request.requestId,
      request: SubmitMergeRequest.encode(request).finish(),
      labels: request.labels,
    });
  };
}

export const mergeServiceModule: ServiceModule = {
  name: 'merge',
  grpcName: 'patchwork.v1.Merge',
  definition: MergeService,
  implementation: (runtime) => ({ submitMerge: unary(submitMerge(runtime)) }),
  handlers: (runtime) => ({ [MERGE_JOB_KIND]: mergeJobHandler(runtime) }),
};
