import { Job, JobEvent } from '@patchwork/contracts';
import type { EventBus } from '../ports';

export type JobEventType = 'queued' | 'started' | 'progress' | 'completed' | 'failed' | 'cancelled';

export function jobEventSubject(service: string, type: JobEventType): string {
  return `patchwork.${service}.job.${type}`;
}

/** Events are best effort: a bus hiccup must not fail the job whose state lives in KV. */
export async function publishJobEvent(bus: EventBus, type: JobEventType, job: Job, onError?: (err: unknown) => void): Promise<void> {
  try {
    const event = JobEvent.encode({ type, job, atMs: Date.now() }).finish();
    await bus.publish(jobEventSubject(job.service, type), event, { 'patchwork-job-id': job.id });
  } catch (err) {
    onError?.(err);
  }
}
