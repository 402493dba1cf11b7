import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { callUnary, createGrpcClient, type CallSettings, type ClientConstructor, type GrpcClientOptions } from './client';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthCheckResponse {
  status: ServingStatus;
}

/** The Check method of grpc.health.v1.Health, in the shape ts-proto would generate. */
export interface HealthClient extends grpc.Client {
  check(request: { service: string }, callback: (error: grpc.ServiceError | null, response: HealthCheckResponse) => void): grpc.ClientUnaryCall;
  check(request: { service: string }, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response: HealthCheckResponse) => void): grpc.ClientUnaryCall;
  check(
    request: { service: string },
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: (error: grpc.ServiceError | null, response: HealthCheckResponse) => void,
  ): grpc.ClientUnaryCall;
}

let healthClientCtor: ClientConstructor<HealthClient> | undefined;

/** A client class for the standard health service, loaded once from grpc-health-check's proto. */
export function healthClientConstructor(): ClientConstructor<HealthClient> {
  if (!healthClientCtor) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { enums: String, defaults: true })) as unknown as {
      grpc: { health: { v1: { Health: ClientConstructor<HealthClient> } } };
    };
    healthClientCtor = pkg.grpc.health.v1.Health;
  }
  return healthClientCtor;
}

/**
 * One health Check against a server (`''` asks about the whole server). An unknown service name
 * rejects with NOT_FOUND, as the health protocol specifies.
 */
export async function checkHealth(options: GrpcClientOptions & { service?: string }, settings: CallSettings = {}): Promise<ServingStatus> {
  const client = createGrpcClient(healthClientConstructor(), options);
  try {
    const response = await callUnary(client, 'check', { service: options.service ?? '' }, settings);
    return response.status;
  } finally {
    client.close();
  }
}
