import { createHash, randomUUID } from 'node:crypto';
import { PatchworkError } from '@patchwork/errors';
import { Job, JobState } from '@patchwork/contracts';
import type { KeyValueBucket } from '../ports';

const TERMINAL: ReadonlySet<JobState> = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state);
}

export function newJobId(): string {
  return `job-${randomUUID()}`;
}

/** Request ids are caller-chosen strings; KV keys allow few characters, so the key is a digest. */
function idempotencyKey(service: string, requestId: string): string {
  return `idem.${service}.${createHash('sha256').update(requestId).digest('hex').slice(0, 40)}`;
}

interface IdempotencyRecord {
  jobId: string;
  /** sha256 of the request body, so a reused id with a different body is refused. */
  requestDigest: string;
}

const jobKey = (id: string) => `job.${id}`;
const checkpointKey = (id: string) => `ckpt.${id}`;

const encodeJson = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decodeJson = <T>(bytes: Uint8Array): T => JSON.parse(new TextDecoder().decode(bytes)) as T;

/**
 * Job records in a KV bucket: the job itself (protobuf), the idempotency index, and the worker's
 * resume checkpoint. Every change is a compare-and-set, so concurrent writers (a worker reporting
 * progress, a client cancelling) never lose each other's updates.
 */
export class JobRecords {
  constructor(private readonly bucket: KeyValueBucket) {}

  /**
   * Creates the job unless the request id was seen: then the existing job is returned. A request id
   * reused with a different body is ALREADY_EXISTS.
   */
  async createIdempotent(job: Job, requestBody: Uint8Array): Promise<{ job: Job; deduplicated: boolean }> {
    const requestDigest = createHash('sha256').update(requestBody).digest('hex');
    const key = idempotencyKey(job.service, job.requestId);
    const record: IdempotencyRecord = { jobId: job.id, requestDigest };
    try {
      await this.bucket.create(key, encodeJson(record));
    } catch (err) {
      if (!(err instanceof PatchworkError) || err.code !== 'ALREADY_EXISTS') throw err;
      const existing = await this.bucket.get(key);
      if (!existing) throw new PatchworkError('ABORTED', `idempotency record for request ${job.requestId} vanished; retry`);
      const seen = decodeJson<IdempotencyRecord>(existing.value);
      if (seen.requestDigest !== requestDigest) {
        throw new PatchworkError('ALREADY_EXISTS', `request_id ${job.requestId} was already used with a different request body`, {
          violations: [{ field: 'request_id', description: 'reused with a different body' }],
        });
      }
      const earlier = await this.waitForJob(seen.jobId);
      return { job: earlier, deduplicated: true };
    }
    await this.bucket.create(jobKey(job.id), Job.encode(job).finish());
    return { job, deduplicated: false };
  }

  /** The idempotency record is written before the job; a racing duplicate waits for the job. */
  private async waitForJob(id: string): Promise<Job> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const job = await this.get(id);
      if (job) return job;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new PatchworkError('UNAVAILABLE', `job ${id} is being created; retry the request`);
  }

  async get(id: string): Promise<Job | null> {
    const entry = await this.bucket.get(jobKey(id));
    return entry ? Job.decode(entry.value) : null;
  }

  async require(id: string): Promise<Job> {
    const job = await this.get(id);
    if (!job) throw new PatchworkError('NOT_FOUND', `no job ${id}`);
    return job;
  }

  /**
   * Read-modify-write with retries on revision conflicts. `mutate` returns the new job, or null to
   * leave it unchanged.
   */
  async update(id: string, mutate: (job: Job) => Job | null): Promise<Job> {
    for (let attempt = 0; ; attempt++) {
      const entry = await this.bucket.get(jobKey(id));
      if (!entry) throw new PatchworkError('NOT_FOUND', `no job ${id}`);
      const current = Job.decode(entry.value);
      const next = mutate(current);
      if (!next) return current;
      next.updatedAtMs = Date.now();
      try {
        await this.bucket.update(jobKey(id), Job.encode(next).finish(), entry.revision);
        return next;
      } catch (err) {
        if (err instanceof PatchworkError && err.code === 'ABORTED' && attempt < 20) continue;
        throw err;
      }
    }
  }

  /** The job now, then on every change, ending after a terminal state or when the signal aborts. */
  async *watch(id: string, signal: AbortSignal): AsyncGenerator<Job> {
    await this.require(id);
    for await (const change of this.bucket.watch(jobKey(id), signal)) {
      if (!change.value) throw new PatchworkError('NOT_FOUND', `job ${id} was deleted`);
      const job = Job.decode(change.value);
      yield job;
      if (isTerminal(job.state)) return;
    }
  }

  async readCheckpoint<T>(id: string): Promise<T | null> {
    const entry = await this.bucket.get(checkpointKey(id));
    return entry ? decodeJson<T>(entry.value) : null;
  }

  async writeCheckpoint(id: string, value: unknown): Promise<void> {
    await this.bucket.put(checkpointKey(id), encodeJson(value));
  }

  async clearCheckpoint(id: string): Promise<void> {
    await this.bucket.delete(checkpointKey(id));
  }
}
