import * as os from 'node:os';
import * as path from 'node:path';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { TRACES_EXPORTERS, type TracesExporter } from '../observability/tracing';

export const SERVICE_NAMES = ['compress', 'train', 'merge', 'evaluate', 'retrieve'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Everything a Patchwork process is configured with, read once at the edge. */
export interface PlatformConfig {
  /** NATS servers; when empty, the embedded fabric (in-process queue/bus/KV, blobs on disk) is used. */
  natsServers: string[];
  natsToken?: string;
  /** Prefix of every stream, bucket and object store name (several deployments on one NATS). */
  natsPrefix: string;
  /** Replicas of the streams, KV buckets and object store Patchwork creates (3 on a 3-node cluster). */
  natsReplicas: number;
  /** Root of local state: embedded stores, the artifact cache, job scratch space. */
  dataDir: string;
  grpcHost: string;
  /** 0 picks a free port. */
  grpcPort: number;
  /** Connections are closed after this age so clients re-resolve and spread over new replicas; 0 = never. */
  maxConnectionAgeMs: number;
  /** Prometheus /metrics port; undefined = no metrics server. */
  metricsPort?: number;
  authToken?: string;
  tls?: { certFile: string; keyFile: string; caFile?: string };
  reflection: boolean;
  logLevel: string;
  /** Services hosted by this process. */
  services: ServiceName[];
  /** Whether this process also runs the job workers of its services. */
  workers: boolean;
  workerConcurrency: number;
  ackWaitMs: number;
  maxDeliver: number;
  shutdownGraceMs: number;
  /** Directories under which ModelSource.path references are allowed (shared volumes). */
  modelPathRoots: string[];
  /** tfjs backend preference, handed to the tensor library. */
  backend: string;
  /** Largest blob one Artifacts.Upload may carry. */
  maxUploadBytes: number;
  /** Where finished spans go (`OTEL_TRACES_EXPORTER`); `none` records no spans but still propagates context. */
  tracesExporter: TracesExporter;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 ** 3;

/** Command-line values override the environment; both are strings as given. */
export type ConfigInput = Record<string, string | undefined>;

const ENV = {
  NATS_URL: 'natsServers',
  NATS_TOKEN: 'natsToken',
  PATCHWORK_NATS_PREFIX: 'natsPrefix',
  PATCHWORK_NATS_REPLICAS: 'natsReplicas',
  PATCHWORK_GRPC_MAX_CONNECTION_AGE_MS: 'maxConnectionAgeMs',
  PATCHWORK_DATA_DIR: 'dataDir',
  PATCHWORK_GRPC_HOST: 'grpcHost',
  PATCHWORK_GRPC_PORT: 'grpcPort',
  PATCHWORK_METRICS_PORT: 'metricsPort',
  PATCHWORK_AUTH_TOKEN: 'authToken',
  PATCHWORK_TLS_CERT: 'tlsCert',
  PATCHWORK_TLS_KEY: 'tlsKey',
  PATCHWORK_TLS_CA: 'tlsCa',
  PATCHWORK_REFLECTION: 'reflection',
  PATCHWORK_LOG_LEVEL: 'logLevel',
  PATCHWORK_SERVICES: 'services',
  PATCHWORK_WORKERS: 'workers',
  PATCHWORK_WORKER_CONCURRENCY: 'workerConcurrency',
  PATCHWORK_ACK_WAIT_MS: 'ackWaitMs',
  PATCHWORK_MAX_DELIVER: 'maxDeliver',
  PATCHWORK_SHUTDOWN_GRACE_MS: 'shutdownGraceMs',
  PATCHWORK_MODEL_PATH_ROOTS: 'modelPathRoots',
  PATCHWORK_BACKEND: 'backend',
  PATCHWORK_MAX_UPLOAD_BYTES: 'maxUploadBytes',
  OTEL_TRACES_EXPORTER: 'tracesExporter',
} as const;

export const CONFIG_ENV_VARS = Object.keys(ENV);

function integer(value: string | undefined, field: string, problems: ViolationCollector, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.add(field, `must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
    return fallback;
  }
  return n;
}

function flag(value: string | undefined, field: string, problems: ViolationCollector, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  problems.add(field, `must be true or false, got ${JSON.stringify(value)}`);
  return fallback;
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Builds the typed configuration from environment variables and flags (flags win, keyed by the
 * option names of PlatformConfig). Every problem is reported at once.
 */
export function readPlatformConfig(env: ConfigInput, flags: ConfigInput = {}): PlatformConfig {
  const raw: Record<string, string | undefined> = {};
  for (const [variable, key] of Object.entries(ENV)) raw[key] = env[variable];
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) raw[key] = value;
  const problems = new ViolationCollector();

  const services = raw['services'] ? list(raw['services']) : [...SERVICE_NAMES];
  for (const s of services) if (!(SERVICE_NAMES as readonly string[]).includes(s)) problems.add('services', `unknown service ${JSON.stringify(s)} (expected ${SERVICE_NAMES.join(', ')})`);
  const tlsCert = raw['tlsCert'];
  const tlsKey = raw['tlsKey'];
  if (Boolean(tlsCert) !== Boolean(tlsKey)) problems.add('tls', 'PATCHWORK_TLS_CERT and PATCHWORK_TLS_KEY must be given together');
  const dataDir = path.resolve(raw['dataDir'] || path.join(os.homedir(), '.patchwork'));
  const tracesExporter = (raw['tracesExporter'] || 'none').toLowerCase();
  if (!(TRACES_EXPORTERS as readonly string[]).includes(tracesExporter)) {
    problems.add('tracesExporter', `OTEL_TRACES_EXPORTER ${JSON.stringify(raw['tracesExporter'])} is not supported here (${TRACES_EXPORTERS.join(', ')}); embedders pass span processors to serve() for OTLP`);
  }
  const metricsPort = raw['metricsPort'] ? integer(raw['metricsPort'], 'metricsPort', problems, 0, 0, 65535) : undefined;
  const config: PlatformConfig = {
    natsServers: list(raw['natsServers']),
    natsToken: raw['natsToken'] || undefined,
    natsPrefix: raw['natsPrefix'] ?? '',
    natsReplicas: integer(raw['natsReplicas'], 'natsReplicas', problems, 1, 1, 5),
    dataDir,
    grpcHost: raw['grpcHost'] || '127.0.0.1',
    grpcPort: integer(raw['grpcPort'], 'grpcPort', problems, 50051, 0, 65535),
    maxConnectionAgeMs: integer(raw['maxConnectionAgeMs'], 'maxConnectionAgeMs', problems, 0, 0, 86_400_000),
    metricsPort,
    authToken: raw['authToken'] || undefined,
    tls: tlsCert && tlsKey ? { certFile: tlsCert, keyFile: tlsKey, caFile: raw['tlsCa'] || undefined } : undefined,
    reflection: flag(raw['reflection'], 'reflection', problems, true),
    logLevel: raw['logLevel'] || 'info',
    services: services as ServiceName[],
    workers: flag(raw['workers'], 'workers', problems, true),
    workerConcurrency: integer(raw['workerConcurrency'], 'workerConcurrency', problems, 1, 1, 64),
    ackWaitMs: integer(raw['ackWaitMs'], 'ackWaitMs', problems, 30_000, 1000, 3_600_000),
    maxDeliver: integer(raw['maxDeliver'], 'maxDeliver', problems, 5, 1, 100),
    shutdownGraceMs: integer(raw['shutdownGraceMs'], 'shutdownGraceMs', problems, 10_000, 0, 600_000),
    modelPathRoots: list(raw['modelPathRoots']).map((p) => path.resolve(p)),
    backend: raw['backend'] || 'auto',
    maxUploadBytes: integer(raw['maxUploadBytes'], 'maxUploadBytes', problems, DEFAULT_MAX_UPLOAD_BYTES, 1, Number.MAX_SAFE_INTEGER),
    tracesExporter: tracesExporter as TracesExporter,
  };
  if (problems.size > 0) {
    try {
      problems.throwIfAny();
    } catch (err) {
      throw new PatchworkError('INVALID_ARGUMENT', `configuration: ${(err as Error).message}`, { violations: (err as PatchworkError).violations });
    }
  }
  return config;
}
