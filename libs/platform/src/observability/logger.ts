import pino from 'pino';
import { context as otelContext } from '@opentelemetry/api';
import { PatchworkError } from '@patchwork/errors';
import { prettyDestination } from './pretty';
import { traceLogFields } from './trace-context';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

const LEVELS: ReadonlySet<string> = new Set<LogLevel>(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export interface LogFn {
  (message: string): void;
  (fields: Record<string, unknown>, message?: string): void;
}

/**
 * The logging surface the rest of Patchwork codes against. It is a subset of pino's, so a pino
 * logger satisfies it, yet tests and embedders can pass anything with these five methods.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** Where log lines go; each call receives one complete line ending in a newline. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Bound to every line as `service`. */
  service: string;
  /** Human-readable lines for a terminal instead of JSON; never in production (it parses each line). */
  pretty?: boolean;
  /** Default: standard output, written synchronously so a crash loses nothing. */
  destination?: LogDestination;
  /** Extra field paths to censor, in pino's redact syntax, on top of the built-in secret names. */
  redact?: string[];
}

/** Field names that hold credentials wherever they appear (top level or one or two levels down). */
const SECRET_KEYS = ['authorization', 'token', 'password', 'secret', 'apiKey', 'api_key', 'cookie'];
export const REDACTED = '[redacted]';

function redactPaths(extra: readonly string[]): string[] {
  const paths: string[] = [];
  for (const key of SECRET_KEYS) paths.push(key, `*.${key}`, `*.*.${key}`);
  return [...paths, ...extra];
}

/**
 * Lines written while a traced RPC or job is active carry its `trace_id` and `span_id`, whichever
 * logger wrote them (a handler's, a library's), so logs and traces join without passing ids around.
 */
function traceMixin(): object {
  // A fresh object each time: pino merges the line's fields into it.
  return traceLogFields(otelContext.active()) ?? {};
}

/** pino's default serializer drops `violations` on nested causes; keep our error shape explicit. */
function serializeError(err: unknown): unknown {
  const base = pino.stdSerializers.err(err as Error);
  if (err instanceof PatchworkError) return { ...base, code: err.code, violations: err.violations };
  return base;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'info';
  if (!LEVELS.has(level)) {
    throw new PatchworkError('INVALID_ARGUMENT', `logger level: "${String(level)}" is not one of ${[...LEVELS].join(', ')}`);
  }
  if (typeof options.service !== 'string' || options.service.length === 0) {
    throw new PatchworkError('INVALID_ARGUMENT', 'logger service: must be a non-empty string');
  }
  const pinoOptions: pino.LoggerOptions = {
    level,
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names rather than numbers: log pipelines and humans filter on "error", not 50.
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: redactPaths(options.redact ?? []), censor: REDACTED },
    serializers: { err: serializeError, error: serializeError },
    mixin: traceMixin,
  };
  const sink = options.destination ?? pino.destination({ dest: 1, sync: true });
  const stream = options.pretty ? prettyDestination(sink) : sink;
  return pino(pinoOptions, stream as pino.DestinationStream);
}

/** A logger that drops everything: the default for code paths that were given none. */
export function nullLogger(): Logger {
  return pino({ level: 'silent' });
}
