import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { JobState } from '@patchwork/contracts';
import { createEmbeddedFabric } from '../fabric';
import { createLogger } from '../observability/logger';
import { promSample } from '../observability/testing/prom-sample';
import type { Fabric } from '../ports';
import { PROBE_PARENT_SPAN_ID, PROBE_TRACE_ID, startTraceProbe, type TraceProbe } from './testing/trace-probe';

jest.setTimeout(20_000);

describe('job tracing and metrics (embedded fabric)', () => {
  let dataDir: string;
  let fabric: Fabric;
  const probes: TraceProbe[] = [];

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'job-obs-'));
    fabric = await createEmbeddedFabric({ dataDir, queue: { ackWaitMs: 2000, maxDeliver: 3 } });
  });
  afterAll(async () => {
    for (const probe of probes) await probe.close();
    await fabric.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const probe = async (service: string, options: { record?: boolean; lines?: string[] } = {}) => {
    const logger = options.lines ? createLogger({ service, destination: { write: (l: string) => options.lines!.push(l) } }) : undefined;
    const p = await startTraceProbe(fabric, { service, record: options.record, logger });
    probes.push(p);
    return p;
  };

  it('runs the job in the trace it was submitted in, in a span per attempt, and counts it', async () => {
    const p = await probe('traced');
    const job = await p.submitTraced('ok', 'r-ok');
    expect((await p.waitForEnd(job.id)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(p.runs).toEqual([{ kind: 'ok', attempt: 1, traceId: PROBE_TRACE_ID }]);
    const [span] = await p.waitForSpans(1);
    expect(span).toMatchObject({ name: 'job traced.ok', kind: SpanKind.CONSUMER });
    expect(span.spanContext().traceId).toBe(PROBE_TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PROBE_PARENT_SPAN_ID);
    expect(span.attributes).toMatchObject({ 'patchwork.job.id': job.id, 'patchwork.job.kind': 'ok', 'patchwork.job.attempt': 1, 'patchwork.job.outcome': 'completed' });
    // Events published while the job ran carry its span, so subscribers can continue the trace.
    const completed = p.events.find((e) => e.subject === 'patchwork.traced.job.completed')!;
    expect(completed.headers.traceparent).toBe(`00-${PROBE_TRACE_ID}-${span.spanContext().spanId}-01`);
    expect(p.events.find((e) => e.subject === 'patchwork.traced.job.queued')!.headers.traceparent).toContain(PROBE_PARENT_SPAN_ID);

    const text = await p.metrics.render();
    const labels = { queue: 'traced', kind: 'ok' };
    expect(promSample(text, 'patchwork_jobs_submitted_total', labels)).toBe(1);
    expect(promSample(text, 'patchwork_jobs_running', labels)).toBe(0);
    expect(promSample(text, 'patchwork_jobs_finished_total', { ...labels, state: 'succeeded' })).toBe(1);
    expect(promSample(text, 'patchwork_job_duration_seconds_count', { ...labels, outcome: 'completed' })).toBe(1);
    expect(promSample(text, 'patchwork_job_redeliveries_total', labels)).toBeUndefined();
  });

  it('continues the same trace on a redelivery, with the attempt on each span, and counts the redelivery', async () => {
    const p = await probe('retried');
    const job = await p.submitTraced('flaky', 'r-flaky');
    expect((await p.waitForEnd(job.id)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(p.runs).toEqual([
      { kind: 'flaky', attempt: 1, traceId: PROBE_TRACE_ID },
      { kind: 'flaky', attempt: 2, traceId: PROBE_TRACE_ID },
    ]);
    const spans = await p.waitForSpans(2);
    expect(spans.map((s) => [s.attributes['patchwork.job.attempt'], s.attributes['patchwork.job.outcome'], s.status.code])).toEqual([
      [1, 'requeued', SpanStatusCode.ERROR],
      [2, 'completed', SpanStatusCode.UNSET],
    ]);
    expect(spans[0].status.message).toContain('UNAVAILABLE');
    for (const s of spans) expect(s.parentSpanContext?.spanId).toBe(PROBE_PARENT_SPAN_ID);

    const text = await p.metrics.render();
    const labels = { queue: 'retried', kind: 'flaky' };
    expect(promSample(text, 'patchwork_job_redeliveries_total', labels)).toBe(1);
    expect(promSample(text, 'patchwork_job_duration_seconds_count', { ...labels, outcome: 'requeued' })).toBe(1);
    expect(promSample(text, 'patchwork_job_duration_seconds_count', { ...labels, outcome: 'completed' })).toBe(1);
    expect(promSample(text, 'patchwork_jobs_finished_total', { ...labels, state: 'succeeded' })).toBe(1);
  });

  it('counts failed jobs and jobs cancelled while queued', async () => {
    const p = await probe('failing');
    const job = await p.submitTraced('broken', 'r-broken');
    expect((await p.waitForEnd(job.id)).state).toBe(JobState.JOB_STATE_FAILED);
    expect((await p.waitForSpans(1))[0].status.code).toBe(SpanStatusCode.ERROR);
    // Nothing consumes this service's queue, so the job is still queued when cancelled.
    const idle = await p.manager.submit({ service: 'no-worker', kind: 'ok', requestId: 'r-idle', request: new Uint8Array() });
    await p.manager.cancel(idle.job!.id, 'test');
    const text = await p.metrics.render();
    expect(promSample(text, 'patchwork_jobs_finished_total', { queue: 'failing', kind: 'broken', state: 'failed' })).toBe(1);
    expect(promSample(text, 'patchwork_job_duration_seconds_count', { queue: 'failing', kind: 'broken', outcome: 'failed' })).toBe(1);
    expect(promSample(text, 'patchwork_jobs_finished_total', { queue: 'no-worker', kind: 'ok', state: 'cancelled' })).toBe(1);
  });

  it('without a tracer, still runs the handler in the submitter\'s trace, and its log lines carry the trace id', async () => {
    const lines: string[] = [];
    const p = await probe('untraced', { record: false, lines });
    const job = await p.submitTraced('ok', 'r-plain');
    await p.waitForEnd(job.id);
    expect(p.runs).toEqual([{ kind: 'ok', attempt: 1, traceId: PROBE_TRACE_ID }]);
    expect(p.exporter.getFinishedSpans()).toEqual([]);
    const ran = lines.map((l) => JSON.parse(l)).find((r) => r.msg === 'probe ran');
    expect(ran).toMatchObject({ trace_id: PROBE_TRACE_ID, span_id: PROBE_PARENT_SPAN_ID, jobId: job.id });
  });

  it('sends no trace headers for a job submitted outside any trace', async () => {
    const p = await probe('plain');
    const { job } = await p.manager.submit({ service: 'plain', kind: 'ok', requestId: 'r-none', request: new Uint8Array() });
    await p.waitForEnd(job!.id);
    // Recording is on, so the attempt gets a root span of its own, and the handler runs in it.
    const [span] = await p.waitForSpans(1);
    expect(span.parentSpanContext).toBeUndefined();
    expect(p.runs[0].traceId).toBe(span.spanContext().traceId);
    expect(p.events.find((e) => e.subject.endsWith('.queued'))!.headers.traceparent).toBeUndefined();
  });
});
