import { ArtifactsClient, CompressClient, EvaluateClient, JobsClient, MergeClient, RetrieveClient, TrainClient } from '@patchwork/contracts';
import { createGrpcClient, type GrpcClientOptions } from '@patchwork/platform';
import type { Remote } from '../remote/connection';

export type LifecycleService = 'train' | 'compress' | 'merge' | 'evaluate' | 'retrieve';

/** gRPC clients of all five services, plus Jobs and Artifacts (served by every process). */
export interface LifecycleClients extends Remote {
  compress: CompressClient;
  evaluate: EvaluateClient;
  retrieve: RetrieveClient;
}

/**
 * Connects to the services: one address for a process serving all five (the embedded
 * quickstart), or one per service (a deployment, the system test). Jobs and Artifacts go to the
 * evaluate address: every process serves them over the shared fabric.
 */
export function connectLifecycle(addresses: string | Readonly<Record<LifecycleService, string>>, options: Omit<GrpcClientOptions, 'address'> = {}): LifecycleClients {
  const at = (service: LifecycleService) => ({ ...options, address: typeof addresses === 'string' ? addresses : addresses[service] });
  const clients = {
    train: createGrpcClient(TrainClient, at('train')),
    compress: createGrpcClient(CompressClient, at('compress')),
    merge: createGrpcClient(MergeClient, at('merge')),
    evaluate: createGrpcClient(EvaluateClient, at('evaluate')),
    retrieve: createGrpcClient(RetrieveClient, at('retrieve')),
    jobs: createGrpcClient(JobsClient, at('evaluate')),
    artifacts: createGrpcClient(ArtifactsClient, at('evaluate')),
  };
  return {
    ...clients,
    close: () => {
      for (const client of Object.values(clients)) client.close();
    },
  };
}
