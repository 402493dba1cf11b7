import { readFileSync } from 'node:fs';
import { ArtifactsClient, JobsClient, MergeClient, TrainClient } from '@patchwork/contracts';
import { createGrpcClient, GrpcClientOptions } from '@patchwork/platform';

export interface RemoteOptions {
  /** host:port of any Patchwork service process. */
  address: string;
  token?: string;
  /** PEM CA bundle; when set the connection uses TLS. */
  tlsCaFile?: string;
  /** Deadline of unary calls. */
  deadlineMs?: number;
}

/** gRPC clients for the services the CLI drives remotely. */
export interface Remote {
  merge: MergeClient;
  train: TrainClient;
  jobs: JobsClient;
  artifacts: ArtifactsClient;
  close(): void;
}

export function connectRemote(options: RemoteOptions): Remote {
  const client: GrpcClientOptions = {
    address: options.address,
    token: options.token,
    tls: options.tlsCaFile ? { ca: readFileSync(options.tlsCaFile) } : undefined,
    deadlineMs: options.deadlineMs ?? 60_000,
  };
  const merge = createGrpcClient(MergeClient, client);
  const train = createGrpcClient(TrainClient, client);
  const jobs = createGrpcClient(JobsClient, client);
  const artifacts = createGrpcClient(ArtifactsClient, client);
  return {
    merge,
    train,
    jobs,
    artifacts,
    close: () => {
      merge.close();
      train.close();
      jobs.close();
      artifacts.close();
    },
  };
}
