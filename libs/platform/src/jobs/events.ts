import { Job, JobEvent } from '@patchwork/contracts';
import { traceHeaders } from '../observability/trace-context';
import type { EventBus } from '../ports';

export type JobEventType = 'queued' | 'started' | 'progress' | 'completed' | 'failed' | 'cancelled';

export function jobEventSubject(service: string, type: JobEventType): string {
  return `patchwork.${service}.job.${type}`;
}

/** Events are best effort: a bus hiccup must not fail the job whose state lives in KV. */
export async function publishJobEvent(bus: EventBus, type: JobEventType, job: Job, onError?: (err: unknown) => void): Promise<void> {
  try {
    const event = JobEvent.encode({ type, job, atMs: Date.now() }).finish();
    // Subscribers continue the trace of the RPC or job run the event came from.
    await bus.publish(jobEventSubject(job.service, type), event, traceHeaders(undefined, { 'patchwork-job-id': job.id }));
  } catch (err) {
    onError?.(err);
  }
}
