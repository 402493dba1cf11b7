import { Job, JobState } from '@patchwork/contracts';
import { PatchworkError, isErrorCode } from '@patchwork/errors';
import { callServerStream } from '@patchwork/platform';
import { Remote } from './connection';

/** Follows a job over WatchJob until it ends; a failed job becomes its PatchworkError. */
export async function watchJob(remote: Remote, jobId: string, onUpdate: (job: Job) => void): Promise<Job> {
  let last: Job | undefined;
  for await (const job of callServerStream(remote.jobs, 'watchJob', { jobId }, { deadline: Infinity })) {
    last = job;
    onUpdate(job);
  }
  if (!last) throw new PatchworkError('UNAVAILABLE', `job ${jobId}: the watch ended before any update`);
  if (last.state === JobState.JOB_STATE_FAILED) {
    const code = last.error && isErrorCode(last.error.code) ? last.error.code : 'INTERNAL';
    throw new PatchworkError(code, `job ${jobId} failed: ${last.error?.message ?? 'unknown error'}`, { violations: last.error?.violations });
  }
  if (last.state === JobState.JOB_STATE_CANCELLED) throw new PatchworkError('CANCELLED', `job ${jobId} was cancelled`);
  if (last.state !== JobState.JOB_STATE_SUCCEEDED) throw new PatchworkError('UNAVAILABLE', `job ${jobId}: the watch ended while the job was ${JobState[last.state]}`);
  return last;
}
