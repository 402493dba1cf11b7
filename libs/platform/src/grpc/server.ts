import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { PatchworkError } from '@patchwork/errors';
import { serverCredentials } from './credentials';
import { bindHandlers } from './handlers';
import { OPEN_SERVICES, bearerAuthInterceptor } from './interceptors/auth';
import { expiredDeadlineInterceptor } from './interceptors/deadline';
import { guardedServer, malformedRequestInterceptor, withSafeDeserializers } from './interceptors/malformed';
import { observeInterceptor } from './interceptors/observe';
import { installContextManager } from '../observability/context-manager';
import { createReflectionService } from './reflection';
import { compileServerOptions, formatAddress, type GrpcServerOptions } from './server-options';
import { runShutdown, type ShutdownHook, type ShutdownRun } from './shutdown';

export interface RunningServer {
  /** The bound port (the chosen one when `port` was 0). */
  readonly port: number;
  /** `host:port` as bound. */
  readonly address: string;
  /** Per-service readiness; `''` is the whole server. Ignored once shutdown has begun. */
  setServing(serviceName: string, serving: boolean): void;
  /** NOT_SERVING for every key -> shutdown hooks -> tryShutdown -> forceShutdown after the grace period. Idempotent. */
  shutdown(reason?: string): Promise<void>;
  /** Work to finish before the server stops accepting calls (stop queue consumers, flush events). */
  onShutdown(hook: ShutdownHook): void;
  /**
   * Settles when the server has closed, whatever started the shutdown (a call or a signal). With
   * signal handling on, Node no longer exits on SIGTERM by itself: close the process's other
   * resources (fabric, metrics server) after this, and the event loop empties.
   */
  readonly closed: Promise<void>;
}

function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => {
      if (err) reject(new PatchworkError('UNAVAILABLE', `cannot bind the gRPC server to ${address}: ${err.message}`, { cause: err }));
      else resolve(port);
    });
  });
}

/**
 * Starts a gRPC server with the Patchwork conventions: standard health per service, optional
 * reflection, bearer-token auth (health and reflection stay open for probes), RED metrics and call
 * logs, early rejection of expired deadlines, and graceful shutdown on SIGTERM/SIGINT.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningServer> {
  const compiled = compileServerOptions(options);
  const { logger } = options;
  const credentials = serverCredentials(options.tls);
  const serviceNames = options.services.map((s) => s.name);
  const reflection = options.reflection ? createReflectionService(options.reflection, serviceNames) : undefined;

  // Handlers run in their caller's trace context, which needs a context manager that follows awaits.
  installContextManager();
  // The first interceptor sits next to the transport: observation sees every status, even rejections.
  const interceptors: grpc.ServerInterceptor[] = [observeInterceptor({ logger, metrics: options.metrics, tracer: options.tracer }), expiredDeadlineInterceptor()];
  if (options.auth) interceptors.push(bearerAuthInterceptor(options.auth.token, OPEN_SERVICES));
  // After auth: a caller without the token learns nothing, not even whether its bytes decode.
  interceptors.push(malformedRequestInterceptor());
  const server = new grpc.Server({ ...compiled.channelOptions, interceptors });

  const healthKeys = ['', ...serviceNames];
  const health = new HealthImplementation(Object.fromEntries(healthKeys.map((key) => [key, 'NOT_SERVING' as const])));
  health.addToServer(guardedServer(server));
  reflection?.addToServer(guardedServer(server));
  for (const service of options.services) {
    server.addService(withSafeDeserializers(service.definition), bindHandlers(service.implementation, { logger: logger.child({ grpcService: service.name }) }));
  }

  const requested = formatAddress(compiled.host, compiled.port);
  let port: number;
  try {
    port = await bind(server, requested, credentials);
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  const address = formatAddress(compiled.host, port);
  for (const key of healthKeys) health.setStatus(key, 'SERVING');
  logger.info({ address, services: serviceNames, tls: Boolean(options.tls), auth: Boolean(options.auth), reflection: Boolean(reflection) }, 'gRPC server listening');

  const hooks: ShutdownHook[] = [];
  let run: ShutdownRun | undefined;
  let closing: Promise<void> | undefined;
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  const signalHandlers = new Map<NodeJS.Signals, () => void>();
  const detachSignals = () => {
    for (const [signal, handler] of signalHandlers) process.off(signal, handler);
    signalHandlers.clear();
  };

  const shutdown = (reason = 'requested'): Promise<void> => {
    if (closing) return closing;
    logger.info({ reason, graceMs: compiled.graceMs }, 'gRPC server shutting down');
    run = runShutdown({
      server,
      logger,
      graceMs: compiled.graceMs,
      notServingDelayMs: compiled.notServingDelayMs,
      markNotServing: () => healthKeys.forEach((key) => health.setStatus(key, 'NOT_SERVING')),
      hooks,
    });
    closing = run.done.finally(() => {
      detachSignals();
      logger.info({ reason }, 'gRPC server closed');
      resolveClosed();
    });
    return closing;
  };

  if (compiled.handleSignals) {
    for (const signal of compiled.signals) {
      const handler = () => {
        if (run) run.force(`second ${signal}`);
        else void shutdown(signal);
      };
      signalHandlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  return {
    port,
    address,
    closed,
    setServing(serviceName, serving) {
      if (!healthKeys.includes(serviceName)) {
        throw new PatchworkError('INVALID_ARGUMENT', `setServing: "${serviceName}" is not served here (known: ${healthKeys.map((k) => JSON.stringify(k)).join(', ')})`);
      }
      if (run) return;
      health.setStatus(serviceName, serving ? 'SERVING' : 'NOT_SERVING');
    },
    shutdown,
    onShutdown(hook) {
      if (run) throw new PatchworkError('FAILED_PRECONDITION', 'onShutdown: the server is already shutting down');
      hooks.push(hook);
    },
  };
}
