import type * as grpc from '@grpc/grpc-js';

export interface MethodName {
  /** Fully qualified service, `patchwork.v1.Merge`. */
  service: string;
  /** Method as in the .proto, `SubmitMerge`. */
  method: string;
}

/** Splits a gRPC path `/patchwork.v1.Merge/SubmitMerge`; an unparsable path keeps its text as the method. */
export function parseMethodPath(path: string): MethodName {
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return match ? { service: match[1], method: match[2] } : { service: 'unknown', method: path };
}

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

export function grpcTypeOf(method: Pick<grpc.ServerMethodDefinition<unknown, unknown>, 'requestStream' | 'responseStream'>): GrpcType {
  if (method.requestStream) return method.responseStream ? 'bidi_stream' : 'client_stream';
  return method.responseStream ? 'server_stream' : 'unary';
}
