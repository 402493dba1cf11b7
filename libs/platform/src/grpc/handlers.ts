import type { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { context as otelContext } from '@opentelemetry/api';
import { nullLogger, type Logger } from '../observability/logger';
import { openCallScope, type CallContext } from './context';
import { toServiceError } from './errors';
import { callTraceContext } from './trace-metadata';

export type UnaryHandlerFn<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res> | Res;
export type ServerStreamHandlerFn<Req, Res> = (request: Req, ctx: CallContext) => AsyncIterable<Res>;
export type ClientStreamHandlerFn<Req, Res> = (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res> | Res;

/** What the server lends adapted handlers: today its logger. */
export interface HandlerRuntime {
  logger: Logger;
}

const BIND = Symbol.for('patchwork.grpc.bindHandler');
type Binder = (runtime: HandlerRuntime) => grpc.UntypedHandleCall;

let fallbackRuntime: HandlerRuntime | undefined;

/**
 * Runs a handler inside its call's trace context, when the call has one, so the handler's awaits,
 * its log lines and the jobs and calls it starts all belong to the caller's trace.
 */
function inCallContext<T>(call: { metadata: grpc.Metadata }, fn: () => T): T {
  const ctx = callTraceContext(call.metadata);
  return ctx ? otelContext.with(ctx, fn) : fn();
}

/**
 * An adapted handler is a plain grpc-js handler (usable on any grpc.Server, logging nowhere) that
 * also remembers how to rebuild itself around a runtime; `startGrpcServer` rebinds it to its logger.
 */
function adapted<H extends grpc.UntypedHandleCall>(make: (runtime: HandlerRuntime) => H): H {
  const handler = make((fallbackRuntime ??= { logger: nullLogger() }));
  Object.defineProperty(handler, BIND, { value: make });
  return handler;
}

/** Rebinds every adapted handler of an implementation to `runtime`; other handlers pass through. */
export function bindHandlers(implementation: grpc.UntypedServiceImplementation, runtime: HandlerRuntime): grpc.UntypedServiceImplementation {
  const bound: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const make = (handler as unknown as { [BIND]?: Binder })[BIND];
    bound[name] = make ? make(runtime) : handler;
  }
  return bound;
}

/** A unary method as `async (request, ctx) => response`; a throw becomes the call's status. */
export function unary<Req, Res>(fn: UnaryHandlerFn<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return adapted((runtime) => (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    const scope = openCallScope(call, runtime.logger);
    const { ctx } = scope;
    inCallContext(call, () => Promise.resolve().then(() => fn(call.request, ctx)))
      .then(
        (response) => {
          if (!ctx.signal.aborted) callback(null, response);
        },
        (err: unknown) => {
          if (!ctx.signal.aborted) callback(toServiceError(err, { logger: ctx.logger }));
        },
      )
      .finally(() => scope.dispose());
  });
}

function drained(stream: EventEmitter, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    stream.on('drain', done);
    signal.addEventListener('abort', done);
  });
}

/**
 * A server-streaming method as an async generator. Each yielded message waits for the transport to
 * drain when its buffer is full, so a slow client slows the generator instead of growing memory.
 * When the call ends early (cancel, deadline), `ctx.signal` aborts and the generator is closed at its
 * next `yield`; a generator blocked on other work should pass `ctx.signal` to it.
 */
export function serverStream<Req, Res>(fn: ServerStreamHandlerFn<Req, Res>): grpc.handleServerStreamingCall<Req, Res> {
  return adapted((runtime) => (call: grpc.ServerWritableStream<Req, Res>) => {
    const scope = openCallScope(call, runtime.logger);
    const { ctx } = scope;
    const run = async () => {
      for await (const message of fn(call.request, ctx)) {
        if (ctx.signal.aborted) return;
        if (!call.write(message)) await drained(call, ctx.signal);
        if (ctx.signal.aborted) return;
      }
      call.end();
    };
    inCallContext(call, run)
      .catch((err: unknown) => {
        // grpc-js turns an 'error' event on the call into its final status.
        if (!ctx.signal.aborted) call.emit('error', toServiceError(err, { logger: ctx.logger }));
      })
      .finally(() => scope.dispose());
  });
}

/**
 * Node's http2 ends the request stream of a call the client reset (RST_STREAM) before it reports the
 * reset, so grpc-js first delivers a normal half-close and only then the cancellation, two event-loop
 * turns later. Waiting a few turns before reporting the end keeps a cancelled upload from looking
 * complete. Handlers should still check completeness themselves (a size or digest in a header).
 */
const CANCEL_SETTLE_TURNS = 3;

async function cancellationSettled(signal: AbortSignal): Promise<void> {
  for (let turn = 0; turn < CANCEL_SETTLE_TURNS && !signal.aborted; turn++) await new Promise((resolve) => setImmediate(resolve));
  if (signal.aborted) throw signal.reason;
}

/** Requests as an async iterable that throws the cancellation reason if the call ends early. */
async function* requestsOf<Req>(call: grpc.ServerReadableStream<Req, unknown>, signal: AbortSignal): AsyncGenerator<Req> {
  const iterator = (call as AsyncIterable<Req>)[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  // On cancel grpc-js destroys the request stream, which a bare iterator reports as a premature
  // close (or not at all while paused); racing the signal surfaces the cancellation reason instead.
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) {
        await cancellationSettled(signal);
        return;
      }
      yield next.value;
    }
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    // Not awaited: after a cancel the pending read never settles, and nothing is left to release.
    iterator.return?.().catch(() => undefined);
  }
}

/** A client-streaming method as `async (requests, ctx) => response`, read with backpressure. */
export function clientStream<Req, Res>(fn: ClientStreamHandlerFn<Req, Res>): grpc.handleClientStreamingCall<Req, Res> {
  return adapted((runtime) => (call: grpc.ServerReadableStream<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    const scope = openCallScope(call, runtime.logger);
    const { ctx } = scope;
    inCallContext(call, () => Promise.resolve().then(() => fn(requestsOf(call, ctx.signal), ctx)))
      .then(
        (response) => {
          if (!ctx.signal.aborted) callback(null, response);
        },
        (err: unknown) => {
          if (!ctx.signal.aborted) callback(toServiceError(err, { logger: ctx.logger }));
        },
      )
      .finally(() => scope.dispose());
  });
}
