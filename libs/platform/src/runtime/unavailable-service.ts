import * as grpc from '@grpc/grpc-js';
import type { ServiceModule } from './runtime';

/**
 * A service whose methods are part of the contract but not offered by this release: every call
 * answers UNIMPLEMENTED naming the method, never a made-up result.
 */
export function unimplementedServiceModule(name: string, grpcName: string, definition: grpc.ServiceDefinition): ServiceModule {
  return {
    name,
    grpcName,
    definition,
    implementation: () => {
      const impl: grpc.UntypedServiceImplementation = {};
      for (const [method, attrs] of Object.entries(definition)) {
        const status = { code: grpc.status.UNIMPLEMENTED, details: `${attrs.path} is not implemented in this release of Patchwork` };
        impl[method] = (attrs.responseStream
          ? (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', status)
          : (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(status)) as grpc.UntypedHandleCall;
      }
      return impl;
    },
    handlers: () => ({}),
  };
}
