import type * as grpc from '@grpc/grpc-js';
import type { Tracer } from '@opentelemetry/api';
import { ViolationCollector } from '@patchwork/errors';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { ServerTlsOptions } from './credentials';
import type { ReflectionSource } from './reflection';

export interface GrpcServiceRegistration {
  /** Fully qualified, `patchwork.v1.Merge`: the health key and the prefix of every method path. */
  name: string;
  /** A grpc-js ServiceDefinition: ts-proto's `XxxService` or a proto-loader service. */
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export interface ShutdownOptions {
  /** Total time from the start of shutdown to `forceShutdown`; default 10 000 ms. Keep it under the pod's terminationGracePeriodSeconds. */
  graceMs?: number;
  /** Time between reporting NOT_SERVING and draining, for load balancers to notice; default 0 (use a preStop sleep instead). */
  notServingDelayMs?: number;
  /** Default true: the first signal shuts down gracefully, a second one forces it. */
  handleSignals?: boolean;
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
}

export interface KeepaliveOptions {
  /** Server pings an idle connection after this long (`grpc.keepalive_time_ms`). */
  timeMs?: number;
  /** And drops it when the ping is not answered within this (`grpc.keepalive_timeout_ms`). */
  timeoutMs?: number;
}

export interface GrpcServerOptions {
  /** Default `0.0.0.0`. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  services: GrpcServiceRegistration[];
  /** Off unless given: it publishes the schema to anyone who can connect (no token needed). */
  reflection?: ReflectionSource | false;
  /** Bearer-token check on every service except health and reflection; off when absent. */
  auth?: { token: string };
  tls?: ServerTlsOptions;
  /** Default 4 MiB: large tensors travel as chunked streams or artifact references, not big messages. */
  maxReceiveMessageBytes?: number;
  /** Default 4 MiB, the client's default receive limit, so an oversized reply fails on the server with a clear status. */
  maxSendMessageBytes?: number;
  logger: Logger;
  metrics?: Metrics;
  /**
   * Records a server span per call. Without one, a caller's `traceparent` is still honoured: the
   * handler runs in that trace (log lines carry its `trace_id`) and passes it on to jobs and calls.
   */
  tracer?: Tracer;
  shutdown?: ShutdownOptions;
  keepalive?: KeepaliveOptions;
  /** Closes connections after this age so clients re-resolve and spread over new replicas (`grpc.max_connection_age_ms`). */
  maxConnectionAgeMs?: number;
  /** Time in-flight calls get after the age is reached (`grpc.max_connection_age_grace_ms`). */
  maxConnectionAgeGraceMs?: number;
  /** Closes connections idle this long (`grpc.max_connection_idle_ms`). */
  maxConnectionIdleMs?: number;
  /** Any other grpc-js server option; the typed options above win. */
  channelOptions?: grpc.ChannelOptions;
}

export const DEFAULT_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_GRACE_MS = 10_000;

export interface CompiledServerOptions {
  host: string;
  port: number;
  graceMs: number;
  notServingDelayMs: number;
  handleSignals: boolean;
  signals: NodeJS.Signals[];
  channelOptions: grpc.ChannelOptions;
}

function isNonNegativeInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function checkOptionalInt(v: ViolationCollector, field: string, value: unknown, min: number): void {
  if (value !== undefined && !(isNonNegativeInt(value) && value >= min)) v.add(field, `must be an integer >= ${min}, got ${String(value)}`);
}

function checkServices(v: ViolationCollector, services: unknown): void {
  if (!Array.isArray(services) || services.length === 0) {
    v.add('services', 'must list at least one service');
    return;
  }
  const seen = new Set<string>();
  services.forEach((s: GrpcServiceRegistration, i) => {
    const at = `services[${i}]`;
    if (typeof s?.name !== 'string' || !/^[A-Za-z_][\w.]*$/.test(s.name)) {
      v.add(`${at}.name`, `must be a fully qualified service name, got ${JSON.stringify(s?.name)}`);
      return;
    }
    if (seen.has(s.name)) v.add(`${at}.name`, `${s.name} is registered twice`);
    seen.add(s.name);
    if (typeof s.definition !== 'object' || s.definition === null || Object.keys(s.definition).length === 0) {
      v.add(`${at}.definition`, 'must be a grpc-js ServiceDefinition with at least one method');
      return;
    }
    for (const [key, method] of Object.entries(s.definition)) {
      if (!method.path.startsWith(`/${s.name}/`)) v.add(`${at}.definition.${key}`, `path ${method.path} does not belong to service ${s.name}`);
      // grpc-js accepts a handler under the definition key or the method's originalName; so do we.
      const handler = s.implementation?.[key] ?? (method.originalName ? s.implementation?.[method.originalName] : undefined);
      if (typeof handler !== 'function') v.add(`${at}.implementation.${key}`, 'missing handler');
    }
  });
}

/** Validates everything at once and turns the typed options into grpc-js channel options. */
export function compileServerOptions(options: GrpcServerOptions): CompiledServerOptions {
  const v = new ViolationCollector();
  const host = options.host ?? '0.0.0.0';
  if (typeof host !== 'string' || host.length === 0) v.add('host', 'must be a non-empty string');
  if (!(isNonNegativeInt(options.port) && options.port <= 65535)) v.add('port', `must be an integer in [0, 65535], got ${String(options.port)}`);
  checkServices(v, options.services);
  if (options.auth !== undefined && (typeof options.auth.token !== 'string' || options.auth.token.trim().length === 0)) {
    v.add('auth.token', 'must be a non-empty string (omit auth to disable it)');
  }
  if (!options.logger) v.add('logger', 'required');
  checkOptionalInt(v, 'maxReceiveMessageBytes', options.maxReceiveMessageBytes, 1);
  checkOptionalInt(v, 'maxSendMessageBytes', options.maxSendMessageBytes, 1);
  checkOptionalInt(v, 'shutdown.graceMs', options.shutdown?.graceMs, 0);
  checkOptionalInt(v, 'shutdown.notServingDelayMs', options.shutdown?.notServingDelayMs, 0);
  checkOptionalInt(v, 'keepalive.timeMs', options.keepalive?.timeMs, 1);
  checkOptionalInt(v, 'keepalive.timeoutMs', options.keepalive?.timeoutMs, 1);
  checkOptionalInt(v, 'maxConnectionAgeMs', options.maxConnectionAgeMs, 1);
  checkOptionalInt(v, 'maxConnectionAgeGraceMs', options.maxConnectionAgeGraceMs, 0);
  checkOptionalInt(v, 'maxConnectionIdleMs', options.maxConnectionIdleMs, 1);
  const graceMs = options.shutdown?.graceMs ?? DEFAULT_GRACE_MS;
  const notServingDelayMs = options.shutdown?.notServingDelayMs ?? 0;
  if (notServingDelayMs > graceMs) v.add('shutdown.notServingDelayMs', `must not exceed shutdown.graceMs (${graceMs})`);
  v.throwIfAny();

  const channelOptions: grpc.ChannelOptions = {
    ...options.channelOptions,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MESSAGE_BYTES,
    'grpc.max_send_message_length': options.maxSendMessageBytes ?? DEFAULT_MESSAGE_BYTES,
  };
  const set = (key: string, value: number | undefined) => {
    if (value !== undefined) channelOptions[key] = value;
  };
  set('grpc.keepalive_time_ms', options.keepalive?.timeMs);
  set('grpc.keepalive_timeout_ms', options.keepalive?.timeoutMs);
  set('grpc.max_connection_age_ms', options.maxConnectionAgeMs);
  set('grpc.max_connection_age_grace_ms', options.maxConnectionAgeGraceMs);
  set('grpc.max_connection_idle_ms', options.maxConnectionIdleMs);
  return {
    host,
    port: options.port,
    graceMs,
    notServingDelayMs,
    handleSignals: options.shutdown?.handleSignals ?? true,
    signals: options.shutdown?.signals ?? ['SIGTERM', 'SIGINT'],
    channelOptions,
  };
}

/** `host:port`, with IPv6 literals bracketed as gRPC targets require. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
