import * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '@patchwork/errors';
import { toServiceError } from '../errors';

/** What a request message that failed to decode becomes, for the interceptor below to answer. */
class MalformedRequest {
  constructor(readonly reason: string) {}
}

/**
 * grpc-js answers a request it cannot decode with INTERNAL, which blames the server for the
 * client's bytes. Decoders wrapped here hand a marker on instead, and `malformedRequestInterceptor`
 * answers it with INVALID_ARGUMENT before any handler sees it. Works on any definition, ts-proto's
 * and proto-loader's (health, reflection) alike.
 */
export function withSafeDeserializers(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const guarded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [key, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    guarded[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return new MalformedRequest(err instanceof Error ? err.message : String(err));
        }
      },
    };
  }
  return guarded as grpc.ServiceDefinition;
}

/** A server whose services all get safe decoders; pass it to `addToServer` of health and reflection. */
export function guardedServer(server: grpc.Server): Pick<grpc.Server, 'addService'> {
  return { addService: (definition, implementation) => server.addService(withSafeDeserializers(definition), implementation) };
}

export function malformedRequestInterceptor(): grpc.ServerInterceptor {
  return (_methodDescriptor, call) => {
    let rejected = false;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message, nextMessage) => {
            if (rejected) return;
            if (message instanceof MalformedRequest) {
              rejected = true;
              call.sendStatus(toServiceError(invalidArgument('request', `not a valid encoding of the request message: ${message.reason}`)));
              return;
            }
            nextMessage(message);
          },
          onReceiveHalfClose: (nextHalfClose) => {
            if (!rejected) nextHalfClose();
          },
        }),
    });
  };
}
