import { SpanKind, SpanStatusCode, context as otelContext, trace, type Tracer } from '@opentelemetry/api';
import { PatchworkError } from '@patchwork/errors';
import { ArtifactRef, Job, JobEnvelope, JobState, Progress } from '@patchwork/contracts';
import { installContextManager } from '../observability/context-manager';
import type { JobFinalState, JobMetrics, JobOutcomeLabel } from '../observability/metrics';
import { closeTraceScope, openTraceScope } from '../observability/spans';
import { extractTrace } from '../observability/trace-context';
import type { Delivery, EventBus, JobQueue, QueueConsumer } from '../ports';
import { publishJobEvent } from './events';
import { JobRecords, isTerminal } from './job-records';
import { JobLogger, silentLogger } from './logger';

export interface ProgressUpdate {
  stage?: string;
  done?: number;
  total?: number;
  fraction?: number;
  message?: string;
  metrics?: Record<string, number>;
}

export interface JobContext {
  readonly job: Job;
  /** 1 on the first delivery; more after a worker died or a retryable failure. */
  readonly attempt: number;
  /** Aborted when the job is cancelled or this worker shuts down. */
  readonly signal: AbortSignal;
  readonly logger: JobLogger;
  progress(update: ProgressUpdate): Promise<void>;
  /** What an earlier attempt saved, so a redelivered job resumes instead of restarting. */
  readCheckpoint<T>(): Promise<T | null>;
  writeCheckpoint(value: unknown): Promise<void>;
}

export interface JobOutcome {
  outputs: ArtifactRef[];
}

export type JobHandler = (request: Uint8Array, context: JobContext) => Promise<JobOutcome>;

export interface JobWorkerOptions {
  service: string;
  records: JobRecords;
  queue: JobQueue;
  bus: EventBus;
  /** Handlers by job kind. */
  handlers: Record<string, JobHandler>;
  logger?: JobLogger;
  concurrency?: number;
  /** How often a running job tells the queue it is alive; well under the queue's ack wait. */
  heartbeatMs?: number;
  /** Deliveries after which a retryable failure becomes final; match the queue's setting. */
  maxDeliver?: number;
  retryDelayMs?: number;
  /** Minimum interval between persisted progress updates. */
  progressIntervalMs?: number;
  metrics?: JobMetrics;
  /**
   * Records a span per delivery (a child of the trace the job was submitted in). Without one, the
   * submitter's trace context still becomes the handler's active context.
   */
  tracer?: Tracer;
}

type StopReason = 'cancelled' | 'shutdown';

const FINAL_STATE: Partial<Record<JobState, JobFinalState>> = {
  [JobState.JOB_STATE_SUCCEEDED]: 'succeeded',
  [JobState.JOB_STATE_FAILED]: 'failed',
  [JobState.JOB_STATE_CANCELLED]: 'cancelled',
};

/**
 * Pulls jobs of one service from the queue and runs them. The job record in KV is the truth: a
 * delivery whose job is already terminal is acked without running, which makes completion
 * exactly-once even though delivery is at-least-once. The record becomes terminal before the ack.
 */
export class JobWorker {
  private consumer?: QueueConsumer;
  private readonly running = new Map<string, AbortController>();
  private readonly logger: JobLogger;

  constructor(private readonly options: JobWorkerOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    if (this.consumer) return;
    installContextManager();
    this.consumer = await this.options.queue.consume(this.options.service, (delivery) => this.handle(delivery), {
      concurrency: this.options.concurrency ?? 1,
    });
  }

  /** Running jobs are interrupted and handed back to the queue, to resume on another worker. */
  async stop(): Promise<void> {
    for (const controller of this.running.values()) controller.abort('shutdown' satisfies StopReason);
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  private async handle(delivery: Delivery): Promise<void> {
    let envelope: JobEnvelope;
    try {
      envelope = JobEnvelope.decode(delivery.data);
    } catch (err) {
      await delivery.deadLetter(`malformed job envelope: ${(err as Error).message}`);
      return;
    }
    const { service, tracer } = this.options;
    const kind = this.options.handlers[envelope.kind] ? envelope.kind : 'unknown';
    if (delivery.deliveryCount > 1) this.options.metrics?.redelivered(service, kind);
    const scope = openTraceScope(
      tracer,
      `job ${service}.${kind}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { 'patchwork.job.id': envelope.jobId, 'patchwork.job.service': service, 'patchwork.job.kind': envelope.kind, 'patchwork.job.attempt': delivery.deliveryCount },
      },
      extractTrace(delivery.headers),
    );
    const settle = () => this.settle(delivery, envelope, kind);
    let outcome: string | undefined;
    try {
      outcome = await (scope ? otelContext.with(scope.ctx, settle) : settle());
    } catch (err) {
      closeTraceScope(scope, { message: (err as Error).message });
      throw err;
    }
    closeTraceScope(scope, undefined, { 'patchwork.job.outcome': outcome });
  }

  /** Decides what one delivery means and settles it; returns what happened, for the span. */
  private async settle(delivery: Delivery, envelope: JobEnvelope, kind: string): Promise<string> {
    const { records } = this.options;
    const job = await records.get(envelope.jobId);
    if (!job) {
      await delivery.deadLetter(`unknown job ${envelope.jobId}`);
      return 'unknown-job';
    }
    if (isTerminal(job.state)) {
      await delivery.ack();
      return 'already-finished';
    }
    if (job.state === JobState.JOB_STATE_CANCELLING) {
      await this.finish(job.id, JobState.JOB_STATE_CANCELLED, 'cancelled');
      await delivery.ack();
      return 'cancelled';
    }
    const maxDeliver = this.options.maxDeliver ?? Number.POSITIVE_INFINITY;
    if (delivery.deliveryCount > maxDeliver) {
      const err = new PatchworkError('UNAVAILABLE', `gave up after ${maxDeliver} deliveries (workers kept dying)`);
      trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      await this.fail(job.id, err);
      await delivery.deadLetter('max deliveries exceeded');
      return 'failed';
    }
    const handler = this.options.handlers[envelope.kind];
    if (!handler) {
      const err = new PatchworkError('UNIMPLEMENTED', `service ${this.options.service} has no handler for job kind ${envelope.kind}`);
      trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      await this.fail(job.id, err);
      await delivery.deadLetter(`${err.code}: ${err.message}`);
      return 'failed';
    }
    const timer = this.options.metrics?.start(this.options.service, kind);
    let outcome: JobOutcomeLabel = 'requeued';
    try {
      outcome = await this.run(job, envelope, handler, delivery, maxDeliver);
      return outcome;
    } finally {
      timer?.end(outcome);
    }
  }

  private async run(job: Job, envelope: JobEnvelope, handler: JobHandler, delivery: Delivery, maxDeliver: number): Promise<JobOutcomeLabel> {
    const { records, bus } = this.options;
    const controller = new AbortController();
    this.running.set(job.id, controller);
    const heartbeat = setInterval(() => delivery.working(), this.options.heartbeatMs ?? 5000);
    const watchStop = new AbortController();
    const cancelWatch = this.watchForCancel(job.id, controller, watchStop.signal);
    const logger = this.logger;
    try {
      const started = await records.update(job.id, (current) =>
        current.state === JobState.JOB_STATE_QUEUED || current.state === JobState.JOB_STATE_RUNNING
          ? { ...current, state: JobState.JOB_STATE_RUNNING, attempts: delivery.deliveryCount, error: undefined }
          : null,
      );
      if (started.state !== JobState.JOB_STATE_RUNNING) {
        // Cancelled between the read above and now.
        await this.finish(job.id, JobState.JOB_STATE_CANCELLED, 'cancelled');
        await delivery.ack();
        return 'cancelled';
      }
      await publishJobEvent(bus, 'started', started);
      const context = this.context(started, delivery.deliveryCount, controller.signal);
      let outcome: JobOutcome | undefined;
      let failure: unknown;
      try {
        outcome = await handler(envelope.request, context);
      } catch (err) {
        failure = err;
      }
      const stopReason = controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined;
      if (stopReason === 'cancelled') {
        await this.finish(job.id, JobState.JOB_STATE_CANCELLED, 'cancelled');
        await records.clearCheckpoint(job.id);
        await delivery.ack();
        return 'cancelled';
      } else if (stopReason === 'shutdown') {
        await records.update(job.id, (current) =>
          isTerminal(current.state) ? null : { ...current, state: JobState.JOB_STATE_QUEUED, progress: { ...(current.progress ?? Progress.fromPartial({})), message: 'worker shut down; job will resume' } },
        );
        delivery.nak(0);
        return 'requeued';
      } else if (failure === undefined && outcome) {
        const done = await records.update(job.id, (current) => ({
          ...current,
          state: JobState.JOB_STATE_SUCCEEDED,
          outputs: outcome.outputs,
          progress: { ...(current.progress ?? Progress.fromPartial({})), fraction: 1, stage: 'done' },
        }));
        this.countFinished(done);
        await records.clearCheckpoint(job.id);
        await publishJobEvent(bus, 'completed', done);
        await delivery.ack();
        return 'completed';
      } else {
        const error = PatchworkError.from(failure);
        trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
        if (error.retryable && delivery.deliveryCount < maxDeliver) {
          logger.warn({ jobId: job.id, attempt: delivery.deliveryCount, code: error.code, err: error.message }, 'job attempt failed; will retry');
          await records.update(job.id, (current) =>
            isTerminal(current.state) ? null : { ...current, state: JobState.JOB_STATE_QUEUED, error: error.toJSON() },
          );
          delivery.nak(this.options.retryDelayMs ?? 1000);
          return 'requeued';
        }
        logger.error({ jobId: job.id, code: error.code, err: error.message }, 'job failed');
        await this.fail(job.id, error);
        await delivery.deadLetter(`${error.code}: ${error.message}`);
        return 'failed';
      }
    } finally {
      clearInterval(heartbeat);
      watchStop.abort();
      await cancelWatch;
      this.running.delete(job.id);
    }
  }

  private context(job: Job, attempt: number, signal: AbortSignal): JobContext {
    const { records, bus } = this.options;
    const interval = this.options.progressIntervalMs ?? 250;
    let lastWrite = 0;
    let lastStage = job.progress?.stage ?? '';
    const logger = this.logger;
    return {
      job,
      attempt,
      signal,
      logger,
      progress: async (update) => {
        const now = Date.now();
        const stageChanged = update.stage !== undefined && update.stage !== lastStage;
        const final = update.total !== undefined && update.done !== undefined && update.done >= update.total;
        if (!stageChanged && !final && now - lastWrite < interval) return;
        lastWrite = now;
        lastStage = update.stage ?? lastStage;
        const updated = await records.update(job.id, (current) => {
          if (current.state !== JobState.JOB_STATE_RUNNING) return null;
          const previous = current.progress ?? Progress.fromPartial({});
          const total = update.total ?? previous.total;
          const done = update.done ?? previous.done;
          const fraction = update.fraction ?? (total > 0 ? Math.min(1, done / total) : previous.fraction);
          return {
            ...current,
            progress: {
              stage: update.stage ?? previous.stage,
              done,
              total,
              fraction,
              message: update.message ?? previous.message,
              metrics: { ...previous.metrics, ...(update.metrics ?? {}) },
            },
          };
        });
        await publishJobEvent(bus, 'progress', updated);
      },
      readCheckpoint: <T>() => records.readCheckpoint<T>(job.id),
      writeCheckpoint: (value) => records.writeCheckpoint(job.id, value),
    };
  }

  /** Aborts the handler when a client asks to cancel; the watch ends when the job does. */
  private async watchForCancel(id: string, controller: AbortController, stop: AbortSignal): Promise<void> {
    try {
      for await (const job of this.options.records.watch(id, stop)) {
        if (job.state === JobState.JOB_STATE_CANCELLING || job.state === JobState.JOB_STATE_CANCELLED) {
          controller.abort('cancelled' satisfies StopReason);
          return;
        }
      }
    } catch (err) {
      if (!stop.aborted) this.logger.warn({ jobId: id, err: (err as Error).message }, 'cancel watch ended early');
    }
  }

  private async fail(id: string, error: PatchworkError): Promise<void> {
    let changed = false;
    const job = await this.options.records.update(id, (current) => {
      if (isTerminal(current.state)) return null;
      changed = true;
      return { ...current, state: JobState.JOB_STATE_FAILED, error: error.toJSON() };
    });
    if (changed) this.countFinished(job);
    await publishJobEvent(this.options.bus, 'failed', job);
  }

  private async finish(id: string, state: JobState, message: string): Promise<void> {
    let changed = false;
    const job = await this.options.records.update(id, (current) => {
      if (isTerminal(current.state)) return null;
      changed = true;
      return { ...current, state, progress: { ...(current.progress ?? Progress.fromPartial({})), message } };
    });
    if (changed) this.countFinished(job);
    await publishJobEvent(this.options.bus, state === JobState.JOB_STATE_CANCELLED ? 'cancelled' : 'completed', job);
  }

  private countFinished(job: Job): void {
    const state = FINAL_STATE[job.state];
    if (state) this.options.metrics?.finished(this.options.service, this.options.handlers[job.kind] ? job.kind : 'unknown', state);
  }
}
