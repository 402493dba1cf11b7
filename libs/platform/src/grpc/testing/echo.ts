import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ClientConstructor } from '../client';

/** Test fixtures for the runtime's specs: the echo service loaded through proto-loader. */
export const ECHO_PROTO = path.join(__dirname, 'echo.proto');
export const ECHO_SERVICE_NAME = 'patchwork.testing.Echo';

export interface EchoRequest {
  text: string;
}
export interface CountRequest {
  n: number;
  padBytes?: number;
}
export interface EchoReply {
  text: string;
  index: number;
  pad?: Buffer;
}

type Callback<T> = (error: grpc.ServiceError | null, response: T) => void;

/** Written in the overload layout ts-proto emits for grpc-js, so the client helpers are typed as in production. */
export interface EchoClient extends grpc.Client {
  say(request: EchoRequest, callback: Callback<EchoReply>): grpc.ClientUnaryCall;
  say(request: EchoRequest, metadata: grpc.Metadata, callback: Callback<EchoReply>): grpc.ClientUnaryCall;
  say(request: EchoRequest, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: Callback<EchoReply>): grpc.ClientUnaryCall;
  count(request: CountRequest, options?: Partial<grpc.CallOptions>): grpc.ClientReadableStream<EchoReply>;
  count(request: CountRequest, metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientReadableStream<EchoReply>;
  collect(callback: Callback<EchoReply>): grpc.ClientWritableStream<EchoRequest>;
  collect(metadata: grpc.Metadata, callback: Callback<EchoReply>): grpc.ClientWritableStream<EchoRequest>;
  collect(options: Partial<grpc.CallOptions>, callback: Callback<EchoReply>): grpc.ClientWritableStream<EchoRequest>;
  collect(metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: Callback<EchoReply>): grpc.ClientWritableStream<EchoRequest>;
}

export interface EchoFixture {
  packageDefinition: protoLoader.PackageDefinition;
  /** Method keys are camelCase (`say`), as in ts-proto output. */
  definition: grpc.ServiceDefinition;
  Client: ClientConstructor<EchoClient>;
}

let fixture: EchoFixture | undefined;

export function loadEcho(): EchoFixture {
  if (!fixture) {
    const packageDefinition = protoLoader.loadSync(ECHO_PROTO, { keepCase: false, defaults: true });
    const pkg = grpc.loadPackageDefinition(packageDefinition) as unknown as {
      patchwork: { testing: { Echo: ClientConstructor<EchoClient> & { service: grpc.ServiceDefinition } } };
    };
    const Echo = pkg.patchwork.testing.Echo;
    // proto-loader keys methods by their proto name; ts-proto by camelCase. Re-key like ts-proto.
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    for (const [name, method] of Object.entries(Echo.service)) definition[name.charAt(0).toLowerCase() + name.slice(1)] = method;
    fixture = { packageDefinition, definition, Client: Echo };
  }
  return fixture;
}
