import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { ArtifactRegistry } from '../artifacts';
import type { PlatformConfig } from '../config';
import { JobHandler, JobManager, JobRecords, ShardBoard, ShardHandler } from '../jobs';
import type { JobMetrics, Logger } from '../observability';
import type { Fabric } from '../ports';
import { createModelResolver } from './model-sources';

/** What every service module gets: the stores, the job pattern and the model resolver. */
export interface Runtime {
  readonly config: PlatformConfig;
  readonly fabric: Fabric;
  readonly jobs: JobManager;
  readonly jobRecords: JobRecords;
  readonly artifacts: ArtifactRegistry;
  readonly logger: Logger;
  /** Where the shards of fanned-out jobs record their results. */
  readonly shards: ShardBoard;
  /** Per-job scratch space on local disk. */
  readonly scratchDir: string;
  resolveModel(ref: string, field: string): Promise<string>;
}

/**
 * A service is a contract (gRPC definition + implementation) plus the job handlers its workers
 * run. Modules hold no algorithm code: they translate between the contract and a library.
 */
export interface ServiceModule {
  /** Short name: queue `jobs.<name>`, events `patchwork.<name>.*`. */
  name: string;
  /** Fully-qualified gRPC service name (health and reflection key). */
  grpcName: string;
  definition: grpc.ServiceDefinition;
  implementation(runtime: Runtime): grpc.UntypedServiceImplementation;
  handlers(runtime: Runtime): Record<string, JobHandler>;
  /** Work on the service's shard queue (`jobs.<name>-shards`), for jobs that fan out. */
  shardHandler?(runtime: Runtime): ShardHandler;
}

export const JOB_BUCKET = 'jobs';
export const ARTIFACT_BUCKET = 'artifacts';
export const SHARD_BUCKET = 'shards';

export interface RuntimeObservability {
  /** Counts submitted and cancelled jobs. */
  jobMetrics?: JobMetrics;
}

export async function createRuntime(config: PlatformConfig, fabric: Fabric, logger: Logger, observability: RuntimeObservability = {}): Promise<Runtime> {
  const jobRecords = new JobRecords(await fabric.kv.bucket(JOB_BUCKET));
  const artifacts = new ArtifactRegistry(await fabric.kv.bucket(ARTIFACT_BUCKET), fabric.blobs, fabric.bus, path.join(config.dataDir, 'cache', 'artifacts'));
  const resolveModel = createModelResolver({ artifacts, pathRoots: config.modelPathRoots });
  return {
    config,
    fabric,
    jobs: new JobManager(jobRecords, fabric.queue, fabric.bus, { metrics: observability.jobMetrics }),
    jobRecords,
    artifacts,
    shards: new ShardBoard(await fabric.kv.bucket(SHARD_BUCKET), fabric.blobs),
    logger,
    scratchDir: path.join(config.dataDir, 'scratch'),
    resolveModel,
  };
}
