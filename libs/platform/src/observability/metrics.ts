import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PatchworkError } from '@patchwork/errors';

export type GrpcLabel = 'grpc_service' | 'grpc_method' | 'grpc_type' | 'grpc_code';
/** How one run of a job ended: `requeued` when it went back to the queue (a retry, a shutdown). */
export type JobOutcomeLabel = 'completed' | 'failed' | 'cancelled' | 'requeued';
/** The terminal states a job record reaches. */
export type JobFinalState = 'succeeded' | 'failed' | 'cancelled';

/** Measures one run of a job from start to end; `end` is idempotent so error paths may call it twice. */
export interface JobTimer {
  end(outcome: JobOutcomeLabel): void;
}

/**
 * Job-level metrics, labelled by `queue` (the work-queue subject suffix: merge, train, ...) and the
 * job `kind`. The label is not called `service` because Kubernetes service discovery commonly adds
 * that label. Each process counts what it did; Prometheus sums over replicas.
 */
export interface JobMetrics {
  /** A new job was accepted (an idempotent retry of a submit is not counted). */
  submitted(queue: string, kind: string): void;
  /** Pending messages on a queue, as last observed from the consumer's lag. */
  setQueued(queue: string, count: number): void;
  /** Reads a queue's backlog at every scrape; a read that fails or hangs keeps the last value. */
  trackQueued(queue: string, read: () => Promise<number>): void;
  /** Marks a job run as started; the returned timer stops the clock and records the outcome. */
  start(queue: string, kind: string): JobTimer;
  /** A job reached a terminal state in this process. */
  finished(queue: string, kind: string, state: JobFinalState): void;
  /** A job message arrived again (delivery count above 1): a crash, a missed heartbeat or a retry. */
  redelivered(queue: string, kind: string): void;
}

/** The tensor backend a process computes on, as the tensor library reports it. */
export interface BackendDescription {
  backend: string;
  device: string;
  threads?: number;
}

export interface Metrics {
  /** This process's registry; other components register their own metrics on it. */
  readonly registry: Registry;
  readonly grpcHandled: Counter<GrpcLabel>;
  readonly grpcHandlingSeconds: Histogram<GrpcLabel>;
  readonly jobs: JobMetrics;
  /**
   * Publishes which tensor backend and device this process computes on (one series at a time) and
   * its thread count. Given a function, it is read at every scrape, so a run-time fallback shows.
   */
  setBackendInfo(info: BackendDescription | (() => BackendDescription)): void;
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
/** A scrape must answer even when the broker does not. */
const QUEUE_READ_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

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
  const submitted = new Counter<'queue' | 'kind'>({
    name: `${prefix}jobs_submitted_total`,
    help: 'Jobs accepted by Submit calls in this process (idempotent retries excluded).',
    labelNames: ['queue', 'kind'],
    registers: [registry],
  });
  const queuedReaders = new Map<string, () => Promise<number>>();
  const queued = new Gauge<'queue'>({
    name: `${prefix}jobs_queued`,
    help: 'Jobs waiting on a work queue or delivered but not yet settled (the consumer lag).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      await Promise.all([...queuedReaders].map(async ([queue, read]) => {
        const count = await withTimeout(read(), QUEUE_READ_TIMEOUT_MS).catch(() => undefined);
        if (count !== undefined && Number.isFinite(count) && count >= 0) this.set({ queue }, count);
      }));
    },
  });
  const running = new Gauge<'queue' | 'kind'>({
    name: `${prefix}jobs_running`,
    help: 'Jobs this process is running now.',
    labelNames: ['queue', 'kind'],
    registers: [registry],
  });
  const duration = new Histogram<'queue' | 'kind' | 'outcome'>({
    name: `${prefix}job_duration_seconds`,
    help: 'Wall time of job runs in this process, by how the run ended.',
    labelNames: ['queue', 'kind', 'outcome'],
    buckets: JOB_BUCKETS,
    registers: [registry],
  });
  const finished = new Counter<'queue' | 'kind' | 'state'>({
    name: `${prefix}jobs_finished_total`,
    help: 'Jobs this process moved to a terminal state.',
    labelNames: ['queue', 'kind', 'state'],
    registers: [registry],
  });
  const redeliveries = new Counter<'queue' | 'kind'>({
    name: `${prefix}job_redeliveries_total`,
    help: 'Job messages delivered again after a crash, a missed heartbeat or a retry.',
    labelNames: ['queue', 'kind'],
    registers: [registry],
  });
  let readBackend: (() => BackendDescription) | undefined;
  let backend: BackendDescription | undefined;
  const refreshBackend = () => {
    if (!readBackend) return;
    try {
      backend = readBackend();
    } catch {
      // Keep the last description: a failing probe must not break the scrape.
    }
  };
  // Registered on the registry and filled at scrape time; nothing else holds them.
  new Gauge<'backend' | 'device'>({
    name: `${prefix}backend_info`,
    help: 'The tensor backend and device of this process (value is always 1).',
    labelNames: ['backend', 'device'],
    registers: [registry],
    collect() {
      refreshBackend();
      this.reset();
      if (backend) this.set({ backend: backend.backend, device: backend.device }, 1);
    },
  });
  new Gauge<'backend'>({
    name: `${prefix}backend_threads`,
    help: 'Threads the tensor backend computes with.',
    // Labelled so that no series exists before a backend is known (an unlabelled gauge reads 0).
    labelNames: ['backend'],
    registers: [registry],
    collect() {
      refreshBackend();
      this.reset();
      if (backend?.threads !== undefined) this.set({ backend: backend.backend }, backend.threads);
    },
  });

  const jobs: JobMetrics = {
    submitted(queue, kind) {
      submitted.inc({ queue, kind });
    },
    setQueued(queue, count) {
      if (!Number.isFinite(count) || count < 0) {
        throw new PatchworkError('INVALID_ARGUMENT', `jobs_queued: count must be a finite non-negative number, got ${count}`);
      }
      queued.set({ queue }, count);
    },
    trackQueued(queue, read) {
      queuedReaders.set(queue, read);
    },
    start(queue, kind) {
      running.inc({ queue, kind });
      const stop = duration.startTimer({ queue, kind });
      let ended = false;
      return {
        end(outcome) {
          if (ended) return;
          ended = true;
          running.dec({ queue, kind });
          stop({ outcome });
        },
      };
    },
    finished(queue, kind, state) {
      finished.inc({ queue, kind, state });
    },
    redelivered(queue, kind) {
      redeliveries.inc({ queue, kind });
    },
  };

  return {
    registry,
    grpcHandled,
    grpcHandlingSeconds,
    jobs,
    setBackendInfo(info) {
      readBackend = typeof info === 'function' ? info : () => info;
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
