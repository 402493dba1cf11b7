import { SpanKind, SpanStatusCode, context as otelContext, trace, type Tracer } from '@opentelemetry/api';
import { JobState, ShardEnvelope } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import { installContextManager } from '../observability/context-manager';
import type { JobMetrics } from '../observability/metrics';
import { closeTraceScope, openTraceScope } from '../observability/spans';
import { extractTrace, traceHeaders } from '../observability/trace-context';
import type { BlobStore, Delivery, JobQueue, KeyValueBucket, QueueConsumer } from '../ports';
import { JobRecords, isTerminal } from './job-records';
import { JobLogger, silentLogger } from './logger';

/** The queue a service's shards travel on: `jobs.<service>-shards`, its own durable consumer. */
export function shardQueueName(service: string): string {
  return `${service}-shards`;
}

const resultKey = (jobId: string, index: number) => `shard.${jobId}.${index}`;

/**
 * Where shard results meet. A result is a blob (results can be large); the KV entry that names it
 * is created once, so a shard computed twice (a redelivery after a worker died) counts once.
 */
export class ShardBoard {
  constructor(
    private readonly bucket: KeyValueBucket,
    private readonly blobs: BlobStore,
  ) {}

  /** Records a shard's result; false when another worker recorded it first. */
  async record(jobId: string, index: number, result: Uint8Array): Promise<boolean> {
    const { digest } = await this.blobs.putBytes(result);
    try {
      await this.bucket.create(resultKey(jobId, index), new TextEncoder().encode(digest));
      return true;
    } catch (err) {
      if (err instanceof PatchworkError && err.code === 'ALREADY_EXISTS') return false;
      throw err;
    }
  }

  async has(jobId: string, index: number): Promise<boolean> {
    return (await this.bucket.get(resultKey(jobId, index))) !== null;
  }

  /** Waits until all `count` shards of a job have results, then returns them in index order. */
  async collect(jobId: string, count: number, signal: AbortSignal, onProgress?: (done: number) => void | Promise<void>): Promise<Uint8Array[]> {
    const digests = new Map<number, string>();
    const watch = new AbortController();
    const stop = () => watch.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const change of this.bucket.watch(`shard.${jobId}.>`, watch.signal)) {
        if (!change.value) continue;
        const index = Number(change.key.slice(change.key.lastIndexOf('.') + 1));
        if (!digests.has(index)) {
          digests.set(index, new TextDecoder().decode(change.value));
          await onProgress?.(digests.size);
        }
        if (digests.size >= count) break;
      }
    } finally {
      signal.removeEventListener('abort', stop);
      watch.abort();
    }
    if (signal.aborted) throw new PatchworkError('CANCELLED', `collecting the shards of ${jobId} was cancelled`);
    const results: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const digest = digests.get(i);
      if (!digest) throw new PatchworkError('INTERNAL', `shard ${i} of ${jobId} has no result`);
      const parts: Uint8Array[] = [];
      for await (const part of this.blobs.read(digest)) parts.push(part);
      results.push(Buffer.concat(parts));
    }
    return results;
  }

  async clear(jobId: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.bucket.delete(resultKey(jobId, i));
  }
}

/**
 * Puts a job's shards on the queue; message ids make a re-dispatch after a crash a no-op. Called
 * from a job handler, the shards carry the job's trace, so their runs appear under it.
 */
export async function dispatchShards(queue: JobQueue, service: string, jobId: string, payloads: Uint8Array[]): Promise<void> {
  const headers = traceHeaders();
  for (const [index, payload] of payloads.entries()) {
    const envelope = ShardEnvelope.encode({ jobId, index, count: payloads.length, payload: Buffer.from(payload) }).finish();
    await queue.enqueue(shardQueueName(service), envelope, { msgId: `${jobId}.shard.${index}`, headers });
  }
}

export type ShardHandler = (payload: Uint8Array, shard: { jobId: string; index: number; count: number; signal: AbortSignal }) => Promise<Uint8Array>;

export interface ShardWorkerOptions {
  service: string;
  queue: JobQueue;
  board: ShardBoard;
  records: JobRecords;
  handler: ShardHandler;
  concurrency?: number;
  heartbeatMs?: number;
  logger?: JobLogger;
  /** Shard runs are counted on the shard queue with kind `shard`. */
  metrics?: JobMetrics;
  /** Records a span per shard run, under the trace of the job that dispatched it. */
  tracer?: Tracer;
}

/**
 * Pulls shards of one service. Any number of replicas may run one; a shard whose job is over or
 * whose result already exists is acknowledged without work.
 */
export class ShardWorker {
  private consumer?: QueueConsumer;
  private readonly running = new Set<AbortController>();

  constructor(private readonly options: ShardWorkerOptions) {}

  async start(): Promise<void> {
    if (this.consumer) return;
    installContextManager();
    this.consumer = await this.options.queue.consume(shardQueueName(this.options.service), (d) => this.handle(d), {
      concurrency: this.options.concurrency ?? 1,
    });
  }

  async stop(): Promise<void> {
    for (const controller of this.running) controller.abort();
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  private async handle(delivery: Delivery): Promise<void> {
    let shard: ShardEnvelope;
    try {
      shard = ShardEnvelope.decode(delivery.data);
    } catch (err) {
      await delivery.deadLetter(`malformed shard envelope: ${(err as Error).message}`);
      return;
    }
    const job = await this.options.records.get(shard.jobId);
    if (!job || isTerminal(job.state) || job.state === JobState.JOB_STATE_CANCELLING || (await this.options.board.has(shard.jobId, shard.index))) {
      await delivery.ack();
      return;
    }
    const queue = shardQueueName(this.options.service);
    if (delivery.deliveryCount > 1) this.options.metrics?.redelivered(queue, 'shard');
    const scope = openTraceScope(
      this.options.tracer,
      `shard ${this.options.service}`,
      { kind: SpanKind.CONSUMER, attributes: { 'patchwork.job.id': shard.jobId, 'patchwork.shard.index': shard.index, 'patchwork.shard.count': shard.count, 'patchwork.job.attempt': delivery.deliveryCount } },
      extractTrace(delivery.headers),
    );
    const run = () => this.run(delivery, shard, queue);
    try {
      await (scope ? otelContext.with(scope.ctx, run) : run());
    } finally {
      closeTraceScope(scope);
    }
  }

  private async run(delivery: Delivery, shard: ShardEnvelope, queue: string): Promise<void> {
    const controller = new AbortController();
    this.running.add(controller);
    const heartbeat = setInterval(() => delivery.working(), this.options.heartbeatMs ?? 5000);
    const timer = this.options.metrics?.start(queue, 'shard');
    try {
      const result = await this.options.handler(shard.payload, { jobId: shard.jobId, index: shard.index, count: shard.count, signal: controller.signal });
      await this.options.board.record(shard.jobId, shard.index, result);
      await delivery.ack();
      timer?.end('completed');
    } catch (err) {
      const error = PatchworkError.from(err);
      trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
      if (controller.signal.aborted || error.retryable) {
        delivery.nak(controller.signal.aborted ? 0 : 1000);
        timer?.end('requeued');
      } else {
        (this.options.logger ?? silentLogger).error({ jobId: shard.jobId, shard: shard.index, code: error.code, err: error.message }, 'shard failed');
        await delivery.deadLetter(`${error.code}: ${error.message}`);
        timer?.end('failed');
      }
    } finally {
      clearInterval(heartbeat);
      this.running.delete(controller);
    }
  }
}
