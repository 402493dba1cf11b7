import { PatchworkError } from '@patchwork/errors';
import { Job, JobEnvelope, JobState, SubmitJobResponse } from '@patchwork/contracts';
import type { JobMetrics } from '../observability/metrics';
import { traceHeaders } from '../observability/trace-context';
import type { EventBus, JobQueue } from '../ports';
import { publishJobEvent } from './events';
import { JobRecords, isTerminal, newJobId } from './job-records';

export interface SubmitOptions {
  service: string;
  kind: string;
  requestId: string;
  /** The Submit* request, encoded; the worker decodes it by kind. */
  request: Uint8Array;
  labels?: Record<string, string>;
}

export interface JobManagerOptions {
  metrics?: JobMetrics;
}

/**
 * The client side of the job pattern: submit, read, watch and cancel, whatever the service. A job
 * submitted inside a trace (an RPC whose caller sent `traceparent`) carries that trace in its queue
 * message headers, so the worker that runs it, on whatever replica, continues the same trace.
 */
export class JobManager {
  constructor(
    private readonly records: JobRecords,
    private readonly queue: JobQueue,
    private readonly bus: EventBus,
    private readonly options: JobManagerOptions = {},
  ) {}

  async submit(options: SubmitOptions): Promise<SubmitJobResponse> {
    if (!options.requestId) {
      throw new PatchworkError('INVALID_ARGUMENT', 'request_id: required (it is the idempotency key)', {
        violations: [{ field: 'request_id', description: 'required' }],
      });
    }
    const now = Date.now();
    const job: Job = Job.fromPartial({
      id: newJobId(),
      service: options.service,
      kind: options.kind,
      requestId: options.requestId,
      state: JobState.JOB_STATE_QUEUED,
      progress: { stage: 'queued' },
      createdAtMs: now,
      updatedAtMs: now,
      labels: options.labels ?? {},
    });
    const { job: stored, deduplicated } = await this.records.createIdempotent(job, options.request);
    // Enqueue also on a duplicate that is still queued: the first submitter may have died between
    // recording the job and enqueueing it. The queue drops the copy by message id.
    if (!deduplicated || stored.state === JobState.JOB_STATE_QUEUED) {
      const envelope = JobEnvelope.encode({ jobId: stored.id, service: stored.service, kind: stored.kind, request: Buffer.from(options.request) }).finish();
      const headers = traceHeaders();
      await this.queue.enqueue(stored.service, envelope, { msgId: stored.id, headers });
      if (!deduplicated) {
        this.options.metrics?.submitted(stored.service, stored.kind);
        await publishJobEvent(this.bus, 'queued', stored);
      }
    }
    return { job: stored, deduplicated };
  }

  get(id: string): Promise<Job> {
    return this.records.require(id);
  }

  watch(id: string, signal: AbortSignal): AsyncGenerator<Job> {
    return this.records.watch(id, signal);
  }

  /** A queued job is cancelled at once; a running one is asked to stop and its worker confirms. */
  async cancel(id: string, reason: string): Promise<Job> {
    const job = await this.records.update(id, (current) => {
      if (isTerminal(current.state)) {
        throw new PatchworkError('FAILED_PRECONDITION', `job ${id} already finished (${JobState[current.state]})`);
      }
      if (current.state === JobState.JOB_STATE_CANCELLING) return null;
      const state = current.state === JobState.JOB_STATE_QUEUED ? JobState.JOB_STATE_CANCELLED : JobState.JOB_STATE_CANCELLING;
      return { ...current, state, progress: { ...(current.progress ?? emptyProgress()), message: reason || 'cancelled by request' } };
    });
    if (job.state === JobState.JOB_STATE_CANCELLED) {
      this.options.metrics?.finished(job.service, job.kind, 'cancelled');
      await publishJobEvent(this.bus, 'cancelled', job);
    }
    return job;
  }
}

function emptyProgress() {
  return { stage: '', done: 0, total: 0, fraction: 0, message: '', metrics: {} };
}
