import {
  ROOT_CONTEXT,
  context as otelContext,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { installContextManager } from './context-manager';

/**
 * W3C Trace Context (`traceparent`, `tracestate`) is the one format Patchwork reads and writes, in
 * gRPC metadata and in queue and bus message headers alike. The propagator is used directly rather
 * than through the API's global, so an embedding application's propagator setup is not disturbed.
 */
const propagator = new W3CTraceContextPropagator();

export const TRACE_HEADERS: readonly string[] = propagator.fields();

/** The context to propagate: the active one unless given. */
export function activeContext(): Context {
  installContextManager();
  return otelContext.active();
}

/** Whether `ctx` carries a span (local or remote) whose ids can be propagated. */
export function hasTrace(ctx: Context): boolean {
  const span = trace.getSpanContext(ctx);
  return span !== undefined && isSpanContextValid(span);
}

/**
 * Writes the trace headers of `ctx` into `carrier` (nothing when it carries no trace). Returns
 * whether it wrote any.
 */
export function injectTrace<C>(ctx: Context, carrier: C, setter: TextMapSetter<C> = defaultTextMapSetter): boolean {
  if (!hasTrace(ctx)) return false;
  propagator.inject(ctx, carrier, setter);
  return true;
}

/** Message headers carrying the trace of `ctx` (the active context by default), added to `headers`. */
export function traceHeaders(ctx: Context = activeContext(), headers: Record<string, string> = {}): Record<string, string> {
  injectTrace(ctx, headers);
  return headers;
}

/**
 * The remote trace context in `carrier`, or undefined when it carries none (or a malformed one):
 * callers then skip all tracing work, which keeps untraced traffic at no cost.
 */
export function extractTrace<C>(carrier: C, getter: TextMapGetter<C> = defaultTextMapGetter as TextMapGetter<C>): Context | undefined {
  if (getter.get(carrier, 'traceparent') === undefined) return undefined;
  const ctx = propagator.extract(ROOT_CONTEXT, carrier, getter);
  return hasTrace(ctx) ? ctx : undefined;
}

/** Log fields of the span in `ctx`: `trace_id` and `span_id`, the names log pipelines correlate on. */
export function traceLogFields(ctx: Context | undefined): { trace_id: string; span_id: string } | undefined {
  const span = ctx && trace.getSpanContext(ctx);
  return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : undefined;
}
