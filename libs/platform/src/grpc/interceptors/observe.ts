import * as grpc from '@grpc/grpc-js';
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { REDACTED, type Logger } from '../../observability/logger';
import type { Metrics } from '../../observability/metrics';
import { closeTraceScope, openTraceScope, type TraceScope } from '../../observability/spans';
import { extractTrace, traceLogFields } from '../../observability/trace-context';
import { callDeadline, cancellationReason } from '../context';
import { grpcStatusOf } from '../errors';
import { grpcTypeOf, parseMethodPath } from '../method-path';
import { metadataGetter, setCallTraceContext } from '../trace-metadata';
import { OPEN_SERVICES } from './auth';

export interface ObserveOptions {
  logger: Logger;
  metrics?: Metrics;
  /** Services logged at debug level when they succeed (probes every few seconds are noise). */
  quietServices?: readonly string[];
  /**
   * Records a server span per call (a child of the caller's `traceparent`). Without one, an incoming
   * trace context is still handed to the handler, so it flows on to jobs and downstream calls.
   */
  tracer?: Tracer;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Client mistakes and normal outcomes are info; server-side trouble is warn or error. */
function levelOf(code: grpc.status): Level {
  switch (code) {
    case grpc.status.OK:
    case grpc.status.CANCELLED:
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.NOT_FOUND:
    case grpc.status.ALREADY_EXISTS:
    case grpc.status.UNAUTHENTICATED:
      return 'info';
    case grpc.status.UNKNOWN:
    case grpc.status.UNIMPLEMENTED:
    case grpc.status.INTERNAL:
    case grpc.status.DATA_LOSS:
      return 'error';
    default:
      return 'warn';
  }
}

/** The codes OpenTelemetry's RPC conventions count as a server-side failure of the span. */
const SERVER_ERRORS: ReadonlySet<grpc.status> = new Set([
  grpc.status.UNKNOWN,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNIMPLEMENTED,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

/** Request metadata fit for a log line: credentials censored, binary values summarised. */
export function redactMetadata(metadata: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, values] of Object.entries(metadata.getMap())) {
    if (key === 'authorization' || key === 'cookie') out[key] = REDACTED;
    else out[key] = typeof values === 'string' ? values : `<${values.length} bytes>`;
  }
  return out;
}

/**
 * Records every call once, when its status is sent or when it is cancelled, whichever comes first:
 * grpc-js sends deadline and cancellation statuses below the interceptors, so those calls are only
 * seen as cancelled. Installed outermost, it also sees calls rejected by the other interceptors.
 */
export function observeInterceptor(options: ObserveOptions): grpc.ServerInterceptor {
  const quiet = new Set(options.quietServices ?? OPEN_SERVICES);
  const { logger, metrics, tracer } = options;
  return (methodDescriptor, call) => {
    const { service, method } = parseMethodPath(methodDescriptor.path);
    const grpcType = grpcTypeOf(methodDescriptor);
    const started = process.hrtime.bigint();
    const deadline = callDeadline(call);
    // Read now: once a call is cancelled its socket may be gone and grpc-js reports "unknown".
    const peer = call.getPeer();
    let requestMetadata: Record<string, string> | undefined;
    let trace: TraceScope | undefined;
    let finished = false;
    const finish = (code: grpc.status, details: string | undefined) => {
      if (finished) return;
      finished = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = { grpc_service: service, grpc_method: method, grpc_type: grpcType, grpc_code: grpc.status[code] ?? String(code) };
      metrics?.grpcHandled.inc(labels);
      metrics?.grpcHandlingSeconds.observe(labels, seconds);
      const level: Level = code === grpc.status.OK && quiet.has(service) ? 'debug' : levelOf(code);
      const fields: Record<string, unknown> = { ...labels, durationMs: Math.round(seconds * 1e6) / 1e3, peer, ...traceLogFields(trace?.ctx) };
      if (requestMetadata) fields.metadata = requestMetadata;
      if (code !== grpc.status.OK && details) fields.details = details;
      logger[level](fields, 'rpc finished');
      closeTraceScope(trace, SERVER_ERRORS.has(code) ? { message: details || grpc.status[code] } : undefined, { 'rpc.grpc.status_code': code });
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            requestMetadata = redactMetadata(metadata);
            const parent = extractTrace(metadata, metadataGetter);
            // A probe every few seconds is not worth a trace of its own; a traced one still is.
            if (parent || !quiet.has(service)) {
              trace = openTraceScope(tracer, `${service}/${method}`, { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } }, parent);
              if (trace) setCallTraceContext(metadata, trace.ctx);
            }
            nextMetadata(metadata);
          },
          onCancel: () => {
            const reason = cancellationReason(deadline);
            finish(grpcStatusOf(reason.code), reason.message);
          },
        }),
      sendStatus: (status, next) => {
        finish(status.code, status.details);
        next(status);
      },
    });
  };
}
