import type { Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PatchworkError } from '@patchwork/errors';
import { installContextManager } from './context-manager';

export const TRACES_EXPORTERS = ['none', 'console'] as const;
export type TracesExporter = (typeof TRACES_EXPORTERS)[number];

export interface TracingOptions {
  /** `console` prints finished spans to standard output (debugging); `none` (default) adds no exporter. */
  exporter?: TracesExporter;
  /**
   * Span processors of the embedding application: an OTLP exporter behind a BatchSpanProcessor in
   * production. Spans are recorded only when there is at least one processor or exporter.
   */
  spanProcessors?: SpanProcessor[];
  /** Instrumentation scope name; default `@patchwork/platform`. */
  name?: string;
}

export interface Tracing {
  readonly tracer: Tracer;
  /** Flushes and stops the processors; call at process shutdown. */
  shutdown(): Promise<void>;
}

/**
 * A tracer that records spans, or undefined when nothing would receive them: then the servers and
 * workers only pass incoming trace context on (no spans are created), which costs next to nothing.
 * The provider is not registered as the global one, so several platforms in one process (tests)
 * and an application's own SDK do not collide.
 */
export function createTracing(options: TracingOptions = {}): Tracing | undefined {
  const exporter = options.exporter ?? 'none';
  if (!(TRACES_EXPORTERS as readonly string[]).includes(exporter)) {
    throw new PatchworkError('INVALID_ARGUMENT', `traces exporter: "${String(exporter)}" is not one of ${TRACES_EXPORTERS.join(', ')} (pass span processors for others, such as OTLP)`);
  }
  const spanProcessors = [...(options.spanProcessors ?? [])];
  if (exporter === 'console') spanProcessors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  if (spanProcessors.length === 0) return undefined;
  installContextManager();
  const provider = new BasicTracerProvider({ spanProcessors });
  return { tracer: provider.getTracer(options.name ?? '@patchwork/platform'), shutdown: () => provider.shutdown() };
}
