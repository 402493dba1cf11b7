import { createHash, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { parseMethodPath } from '../method-path';

/**
 * Services reachable without the bearer token: Kubernetes gRPC probes and grpcurl cannot present
 * one, and neither reveals more than the schema and readiness. Turn reflection off
 * (`reflection: false`) where the schema itself is sensitive.
 */
export const OPEN_SERVICES: readonly string[] = [
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks `authorization: Bearer <token>` before any message reaches a handler and ends the call
 * with UNAUTHENTICATED otherwise. The header is removed once accepted, so handlers cannot leak it.
 */
export function bearerAuthInterceptor(token: string, openServices: readonly string[] = OPEN_SERVICES): grpc.ServerInterceptor {
  // Comparing fixed-length digests keeps the check constant-time whatever the presented length.
  const expected = digest(token);
  const open = new Set(openServices);
  return (methodDescriptor, call) => {
    if (open.has(parseMethodPath(methodDescriptor.path).service)) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const header = metadata.get('authorization')[0];
            const presented = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
            if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
              call.sendStatus({
                code: grpc.status.UNAUTHENTICATED,
                details: presented === undefined ? 'missing bearer token (authorization: Bearer <token>)' : 'invalid bearer token',
                metadata: new grpc.Metadata(),
              });
              return;
            }
            metadata.remove('authorization');
            nextMetadata(metadata);
          },
        }),
    });
  };
}
