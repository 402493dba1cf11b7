import { type Job, JobState } from '@patchwork/contracts';
import { PatchworkError, isErrorCode } from '@patchwork/errors';
import { callUnary } from '@patchwork/platform';
import type { Remote } from '../remote/connection';

const ENDED = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/** Codes a call may meet while a service or the NATS server restarts: wait and ask again. */
const TRANSIENT = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'ABORTED', 'RESOURCE_EXHAUSTED']);

export function isTransient(err: unknown): boolean {
  return TRANSIENT.has(PatchworkError.from(err).code);
}

/** Runs `call` until it succeeds or fails with a non-transient error, for at most `patienceMs`. */
export async function withRetries<T>(call: () => Promise<T>, patienceMs = 120_000): Promise<T> {
  const deadline = Date.now() + patienceMs;
  for (let delay = 100; ; delay = Math.min(2_000, delay * 2)) {
    try {
      return await call();
    } catch (err) {
      if (!isTransient(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Follows a job by polling GetJob until it ends; survives service and NATS restarts (transient
 * errors are retried). A failed or cancelled job becomes its PatchworkError.
 */
export async function awaitJob(remote: Remote, jobId: string, onUpdate?: (job: Job) => void, pollMs = 250): Promise<Job> {
  for (;;) {
    const job = await withRetries(() => callUnary(remote.jobs, 'getJob', { jobId }));
    onUpdate?.(job);
    if (ENDED.has(job.state)) {
      if (job.state === JobState.JOB_STATE_SUCCEEDED) return job;
      const code = job.error && isErrorCode(job.error.code) ? job.error.code : job.state === JobState.JOB_STATE_CANCELLED ? 'CANCELLED' : 'INTERNAL';
      throw new PatchworkError(code, `job ${jobId} (${job.service}/${job.kind}) ${JobState[job.state]}: ${job.error?.message ?? 'no error recorded'}`, { violations: job.error?.violations });
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
