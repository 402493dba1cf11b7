import { Job, JobState } from '@patchwork/contracts';
import { PatchworkError, isErrorCode } from '@patchwork/errors';
import { fromServiceError } from '@patchwork/platform';
import { Remote } from './connection';

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/** Follows a job over WatchJob until it ends; a failed job becomes its PatchworkError. */
export async function watchJob(remote: Remote, jobId: string, onUpdate: (job: Job) => void): Promise<Job> {
  const stream = remote.jobs.watchJob({ jobId }, remote.metadata());
  let last: Job | undefined;
  try {
    for await (const job of stream as AsyncIterable<Job>) {
      last = job;
      onUpdate(job);
      if (TERMINAL.has(job.state)) break;
    }
  } catch (err) {
    throw fromServiceError(err);
  } finally {
    stream.cancel();
  }
  if (!last) throw new PatchworkError('UNAVAILABLE', `job ${jobId}: the watch ended before any update`);
  if (last.state === JobState.JOB_STATE_FAILED) {
    const code = last.error && isErrorCode(last.error.code) ? last.error.code : 'INTERNAL';
    throw new PatchworkError(code, `job ${jobId} failed: ${last.error?.message ?? 'unknown error'}`, { violations: last.error?.violations });
  }
  if (last.state === JobState.JOB_STATE_CANCELLED) throw new PatchworkError('CANCELLED', `job ${jobId} was cancelled`);
  return last;
}
