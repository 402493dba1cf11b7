import * as grpc from '@grpc/grpc-js';
import { callDeadline, remainingMs } from '../context';

/**
 * Ends calls that arrive with their deadline already spent (a `grpc-timeout` of zero, or one
 * consumed in queues and proxies) before any handler work starts. grpc-js would otherwise run the
 * handler and only time it out on the next timer tick.
 */
export function expiredDeadlineInterceptor(): grpc.ServerInterceptor {
  return (_methodDescriptor, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            if (remainingMs(callDeadline(call)) <= 0) {
              call.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: 'deadline exceeded before the call started', metadata: new grpc.Metadata() });
              return;
            }
            nextMetadata(metadata);
          },
        }),
    });
}
