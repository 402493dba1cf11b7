import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ArtifactsClient, JobsClient, MergeClient } from '@patchwork/contracts';
import { fromServiceError } from '@patchwork/platform';

export interface RemoteOptions {
  /** host:port of any Patchwork service process. */
  address: string;
  token?: string;
  /** PEM CA bundle; when set the connection uses TLS. */
  tlsCaFile?: string;
  /** Deadline for unary calls. */
  deadlineMs?: number;
}

/** gRPC clients for the services the CLI drives remotely, sharing one channel. */
export interface Remote {
  merge: MergeClient;
  jobs: JobsClient;
  artifacts: ArtifactsClient;
  metadata(): grpc.Metadata;
  deadline(): Date;
  close(): void;
}

export function connectRemote(options: RemoteOptions): Remote {
  const credentials = options.tlsCaFile ? grpc.credentials.createSsl(readFileSync(options.tlsCaFile)) : grpc.credentials.createInsecure();
  const channelOptions = { 'grpc.max_receive_message_length': 4 * 1024 * 1024 };
  const merge = new MergeClient(options.address, credentials, channelOptions);
  const shared = { channelOverride: merge.getChannel() } as grpc.ClientOptions;
  const jobs = new JobsClient(options.address, credentials, shared);
  const artifacts = new ArtifactsClient(options.address, credentials, shared);
  const deadlineMs = options.deadlineMs ?? 60_000;
  return {
    merge,
    jobs,
    artifacts,
    metadata: () => {
      const md = new grpc.Metadata();
      if (options.token) md.set('authorization', `Bearer ${options.token}`);
      return md;
    },
    deadline: () => new Date(Date.now() + deadlineMs),
    close: () => merge.close(),
  };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** Calls a unary method with the remote's token and deadline; gRPC errors become PatchworkErrors. */
export function callUnary<Req, Res>(remote: Remote, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, remote.metadata(), { deadline: remote.deadline() }, (err, response) => (err ? reject(fromServiceError(err)) : resolve(response)));
  });
}
