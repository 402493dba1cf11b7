import { SpanKind } from '@opentelemetry/api';
import { JobState } from '@patchwork/contracts';
import { createNatsFabric } from '@patchwork/platform/src/fabric';
import { PROBE_PARENT_SPAN_ID, PROBE_TRACE_ID, startTraceProbe, type TraceProbe } from '@patchwork/platform/src/jobs/testing/trace-probe';
import { promSample } from '@patchwork/platform/src/observability/testing/prom-sample';
import type { Fabric } from '@patchwork/platform/src/ports';
import { natsUrl, prefixPool } from '../support/nats';

// Every stream, consumer and bucket lives under a fresh it_<time><random>_ prefix, deleted after.
const prefixes = prefixPool();
let fabric: Fabric;
let probe: TraceProbe;

beforeAll(async () => {
  fabric = await createNatsFabric({ servers: natsUrl(), prefix: prefixes.next(), queue: { ackWaitMs: 2000, maxDeliver: 3 }, name: 'trace-propagation' });
  probe = await startTraceProbe(fabric, { service: 'tracing' });
});

afterAll(async () => {
  await probe?.close();
  await fabric?.close();
  await prefixes.cleanup();
});

describe('trace context through NATS JetStream', () => {
  it('reaches the job handler through the message headers, in a span under the submitter\'s trace', async () => {
    const job = await probe.submitTraced('ok', 'nats-ok');
    expect((await probe.waitForEnd(job.id)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(probe.runs).toEqual([{ kind: 'ok', attempt: 1, traceId: PROBE_TRACE_ID }]);
    const [span] = await probe.waitForSpans(1);
    expect(span.kind).toBe(SpanKind.CONSUMER);
    expect(span.spanContext().traceId).toBe(PROBE_TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PROBE_PARENT_SPAN_ID);
    expect(span.attributes).toMatchObject({ 'patchwork.job.id': job.id, 'patchwork.job.attempt': 1 });
    // The bus (core NATS) carries the job's span on to event subscribers.
    const completed = probe.events.find((e) => e.subject === 'patchwork.tracing.job.completed');
    expect(completed?.headers.traceparent).toBe(`00-${PROBE_TRACE_ID}-${span.spanContext().spanId}-01`);
  });

  it('keeps the trace on a JetStream redelivery, one span per attempt', async () => {
    probe.exporter.reset();
    probe.runs.length = 0;
    const job = await probe.submitTraced('flaky', 'nats-flaky');
    expect((await probe.waitForEnd(job.id)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(probe.runs).toEqual([
      { kind: 'flaky', attempt: 1, traceId: PROBE_TRACE_ID },
      { kind: 'flaky', attempt: 2, traceId: PROBE_TRACE_ID },
    ]);
    const spans = await probe.waitForSpans(2);
    expect(spans.map((s) => [s.attributes['patchwork.job.attempt'], s.attributes['patchwork.job.outcome'], s.parentSpanContext?.spanId])).toEqual([
      [1, 'requeued', PROBE_PARENT_SPAN_ID],
      [2, 'completed', PROBE_PARENT_SPAN_ID],
    ]);
    const text = await probe.metrics.render();
    expect(promSample(text, 'patchwork_job_redeliveries_total', { queue: 'tracing', kind: 'flaky' })).toBe(1);
    expect(promSample(text, 'patchwork_jobs_finished_total', { queue: 'tracing', kind: 'flaky', state: 'succeeded' })).toBe(1);
  });
});
