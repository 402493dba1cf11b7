export { createRuntime, ARTIFACT_BUCKET, JOB_BUCKET } from './runtime';
export type { Runtime, ServiceModule } from './runtime';
export { artifactParents, createModelResolver, modelSourceToRef } from './model-sources';
export { unimplementedServiceModule } from './unavailable-service';
export { jobsServiceImplementation, JOBS_GRPC_NAME } from './jobs-service';
export { artifactsServiceImplementation, ARTIFACTS_GRPC_NAME, TRANSFER_CHUNK_BYTES } from './artifacts-service';
export { serve } from './serve';
export type { RunningPlatform, ServeOptions } from './serve';
