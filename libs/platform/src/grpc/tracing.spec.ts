import * as grpc from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, trace, type Context } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { invalidArgument } from '@patchwork/errors';
import { createTracing } from '../observability/tracing';
import { callClientStream, callServerStream, callUnary } from './client';
import { clientStream, serverStream, unary } from './handlers';
import type { CountRequest, EchoRequest } from './testing/echo';
import { startEcho, type EchoHarness } from './testing/harness';

jest.setTimeout(10_000);

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN_ID = 'b7ad6b7169203331';

/** A context as a caller inside someone else's trace holds it. */
function remoteParent(): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: PARENT_SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

const activeTraceId = () => trace.getSpanContext(context.active())?.traceId;

/** Handlers that report the trace they run in, after an await (the context must survive it). */
function tracingHandlers(seen: Array<string | undefined>) {
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
  return {
    say: unary(async (request: EchoRequest, ctx) => {
      await tick();
      seen.push(activeTraceId());
      ctx.logger.info({}, 'inside say');
      if (request.text === 'bad') throw invalidArgument('text', 'bad');
      if (request.text === 'boom') throw new Error('boom');
      return { text: request.text, index: 0 };
    }),
    count: serverStream(async function* (request: CountRequest) {
      for (let i = 0; i < request.n; i++) {
        await tick();
        seen.push(activeTraceId());
        yield { text: '', index: i };
      }
    }),
    collect: clientStream(async (requests: AsyncIterable<EchoRequest>) => {
      for await (const _ of requests) void _;
      seen.push(activeTraceId());
      return { text: 'collected', index: 0 };
    }),
  };
}

describe('trace context over gRPC', () => {
  describe('with a recording tracer on the server', () => {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] })!;
    const seen: Array<string | undefined> = [];
    let h: EchoHarness;

    beforeAll(async () => {
      h = await startEcho(tracingHandlers(seen), { tracer: tracing.tracer });
    });
    afterAll(async () => {
      await h.close();
      await tracing.shutdown();
    });
    beforeEach(() => {
      exporter.reset();
      seen.length = 0;
    });

    it('continues the caller\'s trace in a server span, and the handler runs in it across awaits', async () => {
      const reply = await context.with(remoteParent(), () => callUnary(h.client(), 'say', { text: 'hi' }));
      expect(reply.text).toBe('hi');
      expect(seen).toEqual([TRACE_ID]);
      const [span] = exporter.getFinishedSpans();
      expect(span.name).toBe('patchwork.testing.Echo/Say');
      expect(span.kind).toBe(SpanKind.SERVER);
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
      expect(span.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'patchwork.testing.Echo', 'rpc.method': 'Say', 'rpc.grpc.status_code': 0 });
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      // Log lines written inside the handler, and the call's own line, carry the trace.
      const inside = h.logs.find('inside say').at(-1)!;
      expect(inside).toMatchObject({ trace_id: TRACE_ID, span_id: span.spanContext().spanId });
      expect(h.logs.find('rpc finished').at(-1)).toMatchObject({ trace_id: TRACE_ID, grpc_method: 'Say' });
    });

    it('traces server and client streams too', async () => {
      await context.with(remoteParent(), async () => {
        for await (const _ of callServerStream(h.client(), 'count', { n: 2 })) void _;
        await callClientStream(h.client(), 'collect', [{ text: 'a' }, { text: 'b' }]);
      });
      expect(seen).toEqual([TRACE_ID, TRACE_ID, TRACE_ID]);
      expect(exporter.getFinishedSpans().map((s) => s.name).sort()).toEqual(['patchwork.testing.Echo/Collect', 'patchwork.testing.Echo/Count']);
    });

    it('marks server faults as span errors and client mistakes not', async () => {
      await context.with(remoteParent(), async () => {
        await callUnary(h.client(), 'say', { text: 'bad' }).catch(() => undefined);
        await callUnary(h.client(), 'say', { text: 'boom' }).catch(() => undefined);
      });
      const byCode = new Map(exporter.getFinishedSpans().map((s) => [s.attributes['rpc.grpc.status_code'], s.status.code]));
      expect(byCode.get(grpc.status.INVALID_ARGUMENT)).toBe(SpanStatusCode.UNSET);
      expect(byCode.get(grpc.status.INTERNAL)).toBe(SpanStatusCode.ERROR);
    });

    it('starts a root span for an untraced call, and ignores a malformed traceparent', async () => {
      const metadata = new grpc.Metadata();
      metadata.set('traceparent', '00-not-a-trace-01');
      await callUnary(h.client(), 'say', { text: 'root' }, { metadata });
      const [span] = exporter.getFinishedSpans();
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(seen).toEqual([span.spanContext().traceId]);
    });

    it('records a client span that parents the server span when the client has a tracer', async () => {
      const client = h.client({ tracer: tracing.tracer });
      await context.with(remoteParent(), () => callUnary(client, 'say', { text: 'x' }));
      const spans = exporter.getFinishedSpans();
      const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT)!;
      const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER)!;
      expect(clientSpan.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
      expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
      expect(serverSpan.spanContext().traceId).toBe(TRACE_ID);
    });
  });

  describe('without a tracer (the default)', () => {
    const seen: Array<string | undefined> = [];
    let h: EchoHarness;
    beforeAll(async () => {
      h = await startEcho(tracingHandlers(seen));
    });
    afterAll(() => h.close());

    it('still hands the caller\'s trace to the handler, so it flows on to jobs and calls', async () => {
      await context.with(remoteParent(), () => callUnary(h.client(), 'say', { text: 'hi' }));
      expect(seen).toEqual([TRACE_ID]);
      expect(h.logs.find('inside say').at(-1)).toMatchObject({ trace_id: TRACE_ID, span_id: PARENT_SPAN_ID });
    });

    it('does nothing for an untraced call: no context, no trace fields in the logs', async () => {
      seen.length = 0;
      await callUnary(h.client(), 'say', { text: 'plain' });
      expect(seen).toEqual([undefined]);
      const line = h.logs.find('inside say').at(-1)!;
      expect(line.trace_id).toBeUndefined();
      expect(h.logs.find('rpc finished').at(-1)!.trace_id).toBeUndefined();
    });
  });
});
