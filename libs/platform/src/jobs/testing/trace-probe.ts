import { ROOT_CONTEXT, TraceFlags, context, trace, type Context } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { PatchworkError } from '@patchwork/errors';
import { Job } from '@patchwork/contracts';
import { createMetrics, type Metrics } from '../../observability/metrics';
import { createTracing, type Tracing } from '../../observability/tracing';
import type { Logger } from '../../observability/logger';
import type { BusMessage, Fabric } from '../../ports';
import { JobManager } from '../job-manager';
import { JobRecords, isTerminal } from '../job-records';
import { JobWorker } from '../job-worker';

/**
 * Test-only: a job manager and worker on a given fabric, with metrics and an in-memory span
 * exporter, whose handlers report the trace they run in. Shared by the embedded unit spec and the
 * NATS integration spec, so both fabrics are held to the same propagation behaviour.
 */
export const PROBE_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const PROBE_PARENT_SPAN_ID = '00f067aa0ba902b7';

export function probeParent(): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: PROBE_TRACE_ID, spanId: PROBE_PARENT_SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

export interface ProbeRun {
  kind: string;
  attempt: number;
  traceId: string | undefined;
}

export interface TraceProbe {
  readonly manager: JobManager;
  readonly records: JobRecords;
  readonly metrics: Metrics;
  readonly exporter: InMemorySpanExporter;
  /** What each handler run saw, in order. */
  readonly runs: ProbeRun[];
  /** Job events seen on the bus, with their headers. */
  readonly events: BusMessage[];
  /** Submits `kind` inside the probe's remote parent trace. */
  submitTraced(kind: 'ok' | 'flaky' | 'broken', requestId: string): Promise<Job>;
  waitForEnd(jobId: string, timeoutMs?: number): Promise<Job>;
  /**
   * Waits until `count` delivery spans have ended: a span ends after its delivery is settled and
   * its metrics recorded, which is later than the job record turning terminal.
   */
  waitForSpans(count: number, timeoutMs?: number): Promise<ReadableSpan[]>;
  close(): Promise<void>;
}

export interface TraceProbeOptions {
  service: string;
  /** Record spans (default); false leaves only propagation. */
  record?: boolean;
  logger?: Logger;
}

export async function startTraceProbe(fabric: Fabric, options: TraceProbeOptions): Promise<TraceProbe> {
  const exporter = new InMemorySpanExporter();
  const tracing: Tracing | undefined = options.record === false ? undefined : createTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const metrics = createMetrics({ defaultMetrics: false });
  const records = new JobRecords(await fabric.kv.bucket(`${options.service}-jobs`));
  const manager = new JobManager(records, fabric.queue, fabric.bus, { metrics: metrics.jobs });
  const runs: ProbeRun[] = [];
  const events: BusMessage[] = [];
  const subscription = await fabric.bus.subscribe(`patchwork.${options.service}.job.>`, (message) => events.push(message));
  const seen = (kind: string, attempt: number) => runs.push({ kind, attempt, traceId: trace.getSpanContext(context.active())?.traceId });
  const worker = new JobWorker({
    service: options.service,
    records,
    queue: fabric.queue,
    bus: fabric.bus,
    metrics: metrics.jobs,
    tracer: tracing?.tracer,
    logger: options.logger,
    retryDelayMs: 10,
    maxDeliver: 3,
    heartbeatMs: 250,
    handlers: {
      ok: async (_request, ctx) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen('ok', ctx.attempt);
        ctx.logger.info({ jobId: ctx.job.id }, 'probe ran');
        return { outputs: [] };
      },
      flaky: async (_request, ctx) => {
        seen('flaky', ctx.attempt);
        if (ctx.attempt === 1) throw new PatchworkError('UNAVAILABLE', 'first attempt fails on purpose');
        return { outputs: [] };
      },
      broken: async (_request, ctx) => {
        seen('broken', ctx.attempt);
        throw new PatchworkError('FAILED_PRECONDITION', 'never works');
      },
    },
  });
  await worker.start();
  return {
    manager,
    records,
    metrics,
    exporter,
    runs,
    events,
    async submitTraced(kind, requestId) {
      const { job } = await context.with(probeParent(), () =>
        manager.submit({ service: options.service, kind, requestId, request: new Uint8Array([1, 2, 3]) }),
      );
      return job!;
    },
    async waitForEnd(jobId, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await records.require(jobId);
        if (isTerminal(job.state)) return job;
        if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish in ${timeoutMs} ms (state ${job.state})`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async waitForSpans(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const spans = exporter.getFinishedSpans();
        if (spans.length >= count) return [...spans].sort((a, b) => Number(a.attributes['patchwork.job.attempt']) - Number(b.attributes['patchwork.job.attempt']));
        if (Date.now() > deadline) throw new Error(`${spans.length} of ${count} spans ended in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      await worker.stop();
      await subscription.unsubscribe();
      await tracing?.shutdown();
    },
  };
}
