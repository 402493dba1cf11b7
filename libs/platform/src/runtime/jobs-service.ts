import { CancelJobRequest, GetJobRequest, Job, JobsService, WatchJobRequest } from '@patchwork/contracts';
import { invalidArgument } from '@patchwork/errors';
import { serverStream, unary } from '../grpc';
import type { Runtime } from './runtime';

/** Job ids are `job-<uuid>`; anything else cannot name a job, and would only reach the KV key check. */
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

function jobId(request: { jobId: string }): string {
  if (!request.jobId) throw invalidArgument('job_id', 'required');
  if (!JOB_ID.test(request.jobId)) throw invalidArgument('job_id', 'must be 1-128 characters of [A-Za-z0-9_-] (as returned by a Submit call)');
  return request.jobId;
}

/** GetJob / WatchJob / CancelJob, answered from the shared job records by any service process. */
export function jobsServiceImplementation(runtime: Runtime) {
  return {
    getJob: unary((request: GetJobRequest) => runtime.jobs.get(jobId(request))),
    watchJob: serverStream(async function* (request: WatchJobRequest, ctx): AsyncGenerator<Job> {
      yield* runtime.jobs.watch(jobId(request), ctx.signal);
    }),
    cancelJob: unary((request: CancelJobRequest) => runtime.jobs.cancel(jobId(request), request.reason)),
  };
}

export const JOBS_GRPC_NAME = 'patchwork.v1.Jobs';
export { JobsService };
