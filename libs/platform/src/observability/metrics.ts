import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PatchworkError } from '@patchwork/errors';

export type GrpcLabel = 'grpc_service' | 'grpc_method' | 'grpc_type' | 'grpc_code';
export type JobOutcomeLabel = 'completed' | 'failed' | 'cancelled';

/** Measures one job from start to end; `end` is idempotent so error paths may call it twice. */
export interface JobTimer {
  end(outcome: JobOutcomeLabel): void;
}

/**
 * Job-level metrics, labelled by `queue` (the work-queue subject suffix: merge, train, ...). The
 * label is not called `service` because Kubernetes service discovery commonly adds that label.
 */
export interface JobMetrics {
  /** Pending messages on a queue, as last observed from the consumer's lag. */
  setQueued(queue: string, count: number): void;
  /** Marks a job running; the returned timer stops the clock and records the outcome. */
  start(queue: string): JobTimer;
  redelivered(queue: string): void;
}

export interface Metrics {
  /** This process's registry; other components register their own metrics on it. */
  readonly registry: Registry;
  readonly grpcHandled: Counter<GrpcLabel>;
  readonly grpcHandlingSeconds: Histogram<GrpcLabel>;
  readonly jobs: JobMetrics;
  /** Publishes which tensor backend and device this process computes on (one series at a time). */
  setBackendInfo(backend: string, device: string): void;
  /** The Prometheus text exposition of every metric in the registry. */
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /**
   * Prefix of Patchwork's own metrics (jobs, backend info); default `patchwork_`. The gRPC metrics
   * keep the go-grpc-prometheus names and the process metrics prom-client's, so stock dashboards work.
   */
  prefix?: string;
  /** Process metrics (CPU, memory, event-loop lag, GC); default true. */
  defaultMetrics?: boolean;
}

const METRIC_PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;
/** RPCs here range from sub-millisecond health checks to minute-long streams. */
const RPC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Jobs range from seconds (a merge of small adapters) to hours (training). */
const JOB_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200];

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'patchwork_';
  if (!METRIC_PREFIX.test(prefix)) {
    throw new PatchworkError('INVALID_ARGUMENT', `metrics prefix: "${prefix}" is not a valid Prometheus metric name prefix`);
  }
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const grpcHandled = new Counter<GrpcLabel>({
    name: 'grpc_server_handled_total',
    help: 'RPCs completed on the server, whatever their status.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_type', 'grpc_code'],
    registers: [registry],
  });
  const grpcHandlingSeconds = new Histogram<GrpcLabel>({
    name: 'grpc_server_handling_seconds',
    help: 'Time from the start of an RPC on the server to its status.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_type', 'grpc_code'],
    buckets: RPC_BUCKETS,
    registers: [registry],
  });
  const queued = new Gauge<'queue'>({
    name: `${prefix}jobs_queued`,
    help: 'Jobs waiting on a work queue.',
    labelNames: ['queue'],
    registers: [registry],
  });
  const running = new Gauge<'queue'>({
    name: `${prefix}jobs_running`,
    help: 'Jobs this process is running now.',
    labelNames: ['queue'],
    registers: [registry],
  });
  const duration = new Histogram<'queue' | 'outcome'>({
    name: `${prefix}job_duration_seconds`,
    help: 'Wall time of finished jobs.',
    labelNames: ['queue', 'outcome'],
    buckets: JOB_BUCKETS,
    registers: [registry],
  });
  const redeliveries = new Counter<'queue'>({
    name: `${prefix}job_redeliveries_total`,
    help: 'Job messages delivered again after a crash, a missed heartbeat or a nak.',
    labelNames: ['queue'],
    registers: [registry],
  });
  const backendInfo = new Gauge<'backend' | 'device'>({
    name: `${prefix}backend_info`,
    help: 'The tensor backend and device of this process (value is always 1).',
    labelNames: ['backend', 'device'],
    registers: [registry],
  });

  const jobs: JobMetrics = {
    setQueued(queue, count) {
      if (!Number.isFinite(count) || count < 0) {
        throw new PatchworkError('INVALID_ARGUMENT', `jobs_queued: count must be a finite non-negative number, got ${count}`);
      }
      queued.set({ queue }, count);
    },
    start(queue) {
      running.inc({ queue });
      const stop = duration.startTimer({ queue });
      let ended = false;
      return {
        end(outcome) {
          if (ended) return;
          ended = true;
          running.dec({ queue });
          stop({ outcome });
        },
      };
    },
    redelivered(queue) {
      redeliveries.inc({ queue });
    },
  };

  return {
    registry,
    grpcHandled,
    grpcHandlingSeconds,
    jobs,
    setBackendInfo(backend, device) {
      backendInfo.reset();
      backendInfo.set({ backend, device }, 1);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
