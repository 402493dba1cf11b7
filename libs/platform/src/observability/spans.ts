import { ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanKind, type Tracer } from '@opentelemetry/api';

/** The context work runs in, and the span to end when it is done (absent when nothing records). */
export interface TraceScope {
  readonly ctx: Context;
  readonly span?: Span;
}

/**
 * Opens the scope of one unit of work (an RPC, a job attempt). With a recording tracer it is a new
 * span under `parent` (a root span without one); without a tracer it is just `parent`, so an
 * incoming trace still flows on to downstream calls and jobs; with neither there is nothing to do.
 */
export function openTraceScope(
  tracer: Tracer | undefined,
  name: string,
  options: { kind: SpanKind; attributes?: Attributes },
  parent: Context | undefined,
): TraceScope | undefined {
  if (!tracer) return parent ? { ctx: parent } : undefined;
  const base = parent ?? ROOT_CONTEXT;
  const span = tracer.startSpan(name, options, base);
  return { ctx: trace.setSpan(base, span), span };
}

/** Ends a scope's span, marking it failed with `error` when given. */
export function closeTraceScope(scope: TraceScope | undefined, error?: { message: string }, attributes?: Attributes): void {
  const span = scope?.span;
  if (!span) return;
  if (attributes) span.setAttributes(attributes);
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  span.end();
}
