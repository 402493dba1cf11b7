import { promises as fs } from 'node:fs';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loadPackageDefinition } from '@patchwork/contracts';
import type { PlatformConfig } from '../config';
import { createEmbeddedFabric, createNatsFabric } from '../fabric';
import { JobWorker, ShardWorker, shardQueueName } from '../jobs';
import { startGrpcServer } from '../grpc';
import { BackendDescription, createLogger, createMetrics, createTracing, Logger, Metrics, startMetricsServer } from '../observability';
import type { Fabric } from '../ports';
import { ArtifactsService, ARTIFACTS_GRPC_NAME, artifactsServiceImplementation } from './artifacts-service';
import { JobsService, JOBS_GRPC_NAME, jobsServiceImplementation } from './jobs-service';
import { createRuntime, Runtime, ServiceModule } from './runtime';

export interface ServeOptions {
  config: PlatformConfig;
  modules: ServiceModule[];
  logger?: Logger;
  /** Injected fabric (tests); otherwise NATS when configured, else embedded. */
  fabric?: Fabric;
  /** Install SIGTERM/SIGINT handlers that shut the process down gracefully. */
  handleSignals?: boolean;
  /** Extra fields for the health/log line (the tensor backend, say). */
  describe?: Record<string, unknown>;
  /**
   * The tensor backend this process computes on, for the `patchwork_backend_*` gauges. The process
   * edge passes it in (the platform does not depend on the tensor library); a function is read at
   * every scrape, so a run-time fallback shows.
   */
  backend?: BackendDescription | (() => BackendDescription);
  /**
   * Where spans go (an OTLP exporter behind a BatchSpanProcessor, say), on top of
   * `config.tracesExporter`. With neither, no spans are recorded, yet a caller's trace context
   * still flows through RPCs, jobs and events, and log lines carry its `trace_id`.
   */
  spanProcessors?: SpanProcessor[];
}

export interface RunningPlatform {
  /** The bound gRPC port (useful when configured as 0). */
  port: number;
  metricsPort?: number;
  runtime: Runtime;
  /** The process's registry: RPC, job and backend metrics (served on `metricsPort` when set). */
  metrics: Metrics;
  /** NOT_SERVING, stop workers (running jobs go back to the queue), drain calls, close the fabric. */
  close(): Promise<void>;
}

async function openFabric(config: PlatformConfig, logger: Logger): Promise<Fabric> {
  const queue = { ackWaitMs: config.ackWaitMs, maxDeliver: config.maxDeliver };
  if (config.natsServers.length > 0) {
    logger.info({ servers: config.natsServers, prefix: config.natsPrefix }, 'connecting to NATS');
    return createNatsFabric({ servers: config.natsServers, token: config.natsToken, prefix: config.natsPrefix, replicas: config.natsReplicas, queue, name: 'patchwork' });
  }
  logger.info({ dataDir: config.dataDir }, 'no NATS_URL: using the embedded fabric (in-process queue, bus and KV; blobs on local disk)');
  return createEmbeddedFabric({ dataDir: config.dataDir, queue });
}

/** Boots one process hosting the given services (all five in the embedded default). */
export async function serve(options: ServeOptions): Promise<RunningPlatform> {
  const { config, modules } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel as never, service: modules.map((m) => m.name).join(',') || 'patchwork' });
  await fs.mkdir(config.dataDir, { recursive: true });
  const fabric = options.fabric ?? (await openFabric(config, logger));
  const metrics = createMetrics({});
  if (options.backend) metrics.setBackendInfo(options.backend);
  const tracing = createTracing({ exporter: config.tracesExporter, spanProcessors: options.spanProcessors });
  const tracer = tracing?.tracer;
  const runtime = await createRuntime(config, fabric, logger, { jobMetrics: metrics.jobs });
  const tls = config.tls
    ? {
        cert: await fs.readFile(config.tls.certFile),
        key: await fs.readFile(config.tls.keyFile),
        ca: config.tls.caFile ? await fs.readFile(config.tls.caFile) : undefined,
      }
    : undefined;
  const server = await startGrpcServer({
    host: config.grpcHost,
    port: config.grpcPort,
    services: [
      ...modules.map((m) => ({ name: m.grpcName, definition: m.definition, implementation: m.implementation(runtime) })),
      { name: JOBS_GRPC_NAME, definition: JobsService, implementation: jobsServiceImplementation(runtime) },
      { name: ARTIFACTS_GRPC_NAME, definition: ArtifactsService, implementation: artifactsServiceImplementation(runtime, { maxUploadBytes: config.maxUploadBytes }) },
    ],
    reflection: config.reflection ? { packageDefinition: loadPackageDefinition() } : false,
    auth: config.authToken ? { token: config.authToken } : undefined,
    tls,
    logger,
    metrics,
    tracer,
    shutdown: { graceMs: config.shutdownGraceMs, handleSignals: options.handleSignals ?? false },
    ...(config.maxConnectionAgeMs > 0 ? { maxConnectionAgeMs: config.maxConnectionAgeMs } : {}),
  });

  const workers: (JobWorker | ShardWorker)[] = [];
  if (config.workers) {
    for (const module of modules) {
      if (module.shardHandler) {
        const shardWorker = new ShardWorker({
          service: module.name,
          queue: fabric.queue,
          board: runtime.shards,
          records: runtime.jobRecords,
          handler: module.shardHandler(runtime),
          concurrency: config.workerConcurrency,
          heartbeatMs: Math.max(250, Math.floor(config.ackWaitMs / 3)),
          logger: logger.child({ shards: module.name }),
          metrics: metrics.jobs,
          tracer,
        });
        await shardWorker.start();
        workers.push(shardWorker);
      }
      const handlers = module.handlers(runtime);
      if (Object.keys(handlers).length === 0) continue;
      const worker = new JobWorker({
        service: module.name,
        records: runtime.jobRecords,
        queue: fabric.queue,
        bus: fabric.bus,
        handlers,
        logger: logger.child({ worker: module.name }),
        concurrency: config.workerConcurrency,
        heartbeatMs: Math.max(250, Math.floor(config.ackWaitMs / 3)),
        maxDeliver: config.maxDeliver,
        metrics: metrics.jobs,
        tracer,
      });
      await worker.start();
      workers.push(worker);
    }
  }
  // The backlog is the same whichever replica reads it; every replica reports it for its services.
  for (const module of modules) {
    metrics.jobs.trackQueued(module.name, () => fabric.queue.pending(module.name));
    if (module.shardHandler) metrics.jobs.trackQueued(shardQueueName(module.name), () => fabric.queue.pending(shardQueueName(module.name)));
  }
  const metricsServer = config.metricsPort !== undefined ? await startMetricsServer({ port: config.metricsPort, host: config.grpcHost, metrics }) : undefined;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await server.shutdown('close');
      await metricsServer?.close();
      await tracing?.shutdown();
      if (!options.fabric) await fabric.close();
    })());
  // Workers stop first so their running jobs go back to the queue before connections close.
  server.onShutdown(async () => {
    await Promise.all(workers.map((w) => w.stop()));
  });
  logger.info(
    { port: server.port, services: modules.map((m) => m.name), fabric: fabric.kind, workers: workers.length, tracing: config.tracesExporter !== 'none' || Boolean(options.spanProcessors?.length), ...options.describe },
    'patchwork serving',
  );
  return { port: server.port, metricsPort: metricsServer?.port, runtime, metrics, close };
}
