import * as grpc from '@grpc/grpc-js';
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { PatchworkError } from '@patchwork/errors';
import { closeTraceScope, openTraceScope } from '../observability/spans';
import { activeContext, hasTrace, injectTrace } from '../observability/trace-context';
import { channelCredentials, type ClientTlsOptions } from './credentials';
import { fromServiceError } from './errors';
import { parseMethodPath } from './method-path';
import { DEFAULT_MESSAGE_BYTES } from './server-options';
import { metadataSetter } from './trace-metadata';

/** The shape of ts-proto's `XxxClient` constants and of proto-loader client classes. */
export type ClientConstructor<T> = new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => T;

export interface GrpcClientOptions {
  /** `host:port`, or any grpc-js target (`dns:///svc:50051`). */
  address: string;
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  /** `true` for TLS with the system roots; an object for a private CA or mTLS. */
  tls?: ClientTlsOptions | boolean;
  /** Deadline for calls that set none; a call passing `deadline: Infinity` opts out (long watches). */
  deadlineMs?: number;
  /** Default 4 MiB, as on the server. */
  maxReceiveMessageBytes?: number;
  /** Any other grpc-js channel option. */
  channelOptions?: grpc.ChannelOptions;
  /** Records a client span per call; without one the caller's active trace is still propagated. */
  tracer?: Tracer;
}

function positiveInt(value: number | undefined, field: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new PatchworkError('INVALID_ARGUMENT', `${field}: must be a positive integer, got ${value}`);
  }
}

function authInterceptor(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

/**
 * Sends the caller's active trace context as `traceparent`/`tracestate` metadata (unless the call
 * sets its own), inside a client span when a tracer records. Calls made outside any trace send
 * nothing and cost one context lookup.
 */
function traceInterceptor(tracer: Tracer | undefined): grpc.Interceptor {
  return (options, nextCall) => {
    // Interceptors are built synchronously inside the call, so this is the caller's context.
    const caller = activeContext();
    const { service, method } = parseMethodPath(options.method_definition.path);
    const scope = openTraceScope(
      tracer,
      `${service}/${method}`,
      { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } },
      hasTrace(caller) ? caller : undefined,
    );
    if (!scope) return new grpc.InterceptingCall(nextCall(options));
    return new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (metadata.get('traceparent').length === 0) injectTrace(scope.ctx, metadata, metadataSetter);
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            closeTraceScope(scope, status.code === grpc.status.OK ? undefined : { message: status.details }, { 'rpc.grpc.status_code': status.code });
            nextStatus(status);
          },
        });
      },
    });
  };
}

function defaultDeadlineInterceptor(deadlineMs: number): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options.deadline === undefined ? { ...options, deadline: Date.now() + deadlineMs } : options));
}

/**
 * Builds a client from a generated constructor with the channel settings Patchwork clients share:
 * credentials, the bearer token, a default deadline and the message-size limit.
 */
export function createGrpcClient<T extends grpc.Client>(Ctor: ClientConstructor<T>, options: GrpcClientOptions): T {
  if (typeof options.address !== 'string' || options.address.length === 0) {
    throw new PatchworkError('INVALID_ARGUMENT', 'address: must be a non-empty gRPC target such as localhost:50051');
  }
  if (options.token !== undefined && options.token.trim().length === 0) throw new PatchworkError('INVALID_ARGUMENT', 'token: must not be empty');
  positiveInt(options.deadlineMs, 'deadlineMs');
  positiveInt(options.maxReceiveMessageBytes, 'maxReceiveMessageBytes');
  const interceptors: grpc.Interceptor[] = [traceInterceptor(options.tracer)];
  if (options.deadlineMs !== undefined) interceptors.push(defaultDeadlineInterceptor(options.deadlineMs));
  if (options.token !== undefined) interceptors.push(authInterceptor(options.token));
  const clientOptions: Partial<grpc.ClientOptions> = {
    ...options.channelOptions,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MESSAGE_BYTES,
    interceptors,
  };
  const tls = options.tls;
  if (typeof tls === 'object' && tls.serverNameOverride) clientOptions['grpc.ssl_target_name_override'] = tls.serverNameOverride;
  return new Ctor(options.address, channelCredentials(tls), clientOptions);
}

/** Per-call settings for the promise helpers. */
export interface CallSettings {
  /** Absolute deadline; `Infinity` for none (overrides the client's default). */
  deadline?: Date | number;
  /** Relative deadline, used when `deadline` is absent. */
  timeoutMs?: number;
  metadata?: grpc.Metadata | Record<string, string>;
  /** Cancels the call when aborted (pass a handler's `ctx.signal` to propagate cancellation). */
  signal?: AbortSignal;
}

type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;

/** Request and response types of a ts-proto client method, read from its fullest overload. */
export type UnaryRequestOf<F> = F extends (request: infer Req, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: Callback<infer _Res>) => grpc.ClientUnaryCall ? Req : never;
export type UnaryResponseOf<F> = F extends (request: infer _Req, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: Callback<infer Res>) => grpc.ClientUnaryCall ? Res : never;
export type ServerStreamRequestOf<F> = F extends (request: infer Req, metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>) => grpc.ClientReadableStream<infer _Res> ? Req : never;
export type ServerStreamResponseOf<F> = F extends (request: infer _Req, metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>) => grpc.ClientReadableStream<infer Res> ? Res : never;
export type ClientStreamRequestOf<F> = F extends (metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: Callback<infer _Res>) => grpc.ClientWritableStream<infer Req> ? Req : never;
export type ClientStreamResponseOf<F> = F extends (metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: Callback<infer Res>) => grpc.ClientWritableStream<infer _Req> ? Res : never;

function toMetadata(value: CallSettings['metadata']): grpc.Metadata {
  if (value instanceof grpc.Metadata) return value.clone();
  const metadata = new grpc.Metadata();
  for (const [key, v] of Object.entries(value ?? {})) metadata.set(key, v);
  return metadata;
}

function toCallOptions(settings: CallSettings): Partial<grpc.CallOptions> {
  if (settings.deadline !== undefined) return { deadline: settings.deadline };
  if (settings.timeoutMs !== undefined) {
    positiveInt(settings.timeoutMs, 'timeoutMs');
    return { deadline: Date.now() + settings.timeoutMs };
  }
  return {};
}

function methodOf(client: object, method: PropertyKey): (...args: unknown[]) => unknown {
  const fn = (client as Record<PropertyKey, unknown>)[method];
  if (typeof fn !== 'function') throw new PatchworkError('INVALID_ARGUMENT', `client has no method ${String(method)}`);
  return (fn as (...args: unknown[]) => unknown).bind(client);
}

function cancelledByCaller(signal: AbortSignal): PatchworkError {
  return new PatchworkError('CANCELLED', 'the call was cancelled by the caller', { cause: signal.reason });
}

/** Cancels `call` when `signal` aborts; returns the detach function. */
function linkSignal(signal: AbortSignal | undefined, call: { cancel(): void }): () => void {
  if (!signal) return () => undefined;
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** A unary call as a promise; failures reject with the server's PatchworkError (code, message, violations). */
export function callUnary<C extends grpc.Client, K extends keyof C>(client: C, method: K, request: UnaryRequestOf<C[K]>, settings: CallSettings = {}): Promise<UnaryResponseOf<C[K]>> {
  const { signal } = settings;
  if (signal?.aborted) return Promise.reject(cancelledByCaller(signal));
  const fn = methodOf(client, method);
  return new Promise((resolve, reject) => {
    let detach: () => void = () => undefined;
    const call = fn(request, toMetadata(settings.metadata), toCallOptions(settings), (err: grpc.ServiceError | null, response: UnaryResponseOf<C[K]>) => {
      detach();
      if (err) reject(signal?.aborted ? cancelledByCaller(signal) : fromServiceError(err));
      else resolve(response);
    }) as grpc.ClientUnaryCall;
    detach = linkSignal(signal, call);
  });
}

/**
 * A server-streaming call as an async iterable, read with backpressure. Leaving the loop early (or
 * aborting `signal`) cancels the call on the server.
 */
export async function* callServerStream<C extends grpc.Client, K extends keyof C>(
  client: C,
  method: K,
  request: ServerStreamRequestOf<C[K]>,
  settings: CallSettings = {},
): AsyncGenerator<ServerStreamResponseOf<C[K]>> {
  const { signal } = settings;
  if (signal?.aborted) throw cancelledByCaller(signal);
  const call = methodOf(client, method)(request, toMetadata(settings.metadata), toCallOptions(settings)) as grpc.ClientReadableStream<ServerStreamResponseOf<C[K]>>;
  const detach = linkSignal(signal, call);
  let finished = false;
  try {
    for await (const message of call) yield message as ServerStreamResponseOf<C[K]>;
    finished = true;
  } catch (err) {
    finished = true;
    throw signal?.aborted ? cancelledByCaller(signal) : fromServiceError(err);
  } finally {
    detach();
    if (!finished) call.cancel();
  }
}

/** A client-streaming call: writes `requests` with backpressure and resolves with the reply. */
export function callClientStream<C extends grpc.Client, K extends keyof C>(
  client: C,
  method: K,
  requests: AsyncIterable<ClientStreamRequestOf<C[K]>> | Iterable<ClientStreamRequestOf<C[K]>>,
  settings: CallSettings = {},
): Promise<ClientStreamResponseOf<C[K]>> {
  const { signal } = settings;
  if (signal?.aborted) return Promise.reject(cancelledByCaller(signal));
  const fn = methodOf(client, method);
  let settled = false;
  let wake: () => void = () => undefined;
  const reply = new Promise<ClientStreamResponseOf<C[K]>>((resolve, reject) => {
    const call = fn(toMetadata(settings.metadata), toCallOptions(settings), (err: grpc.ServiceError | null, response: ClientStreamResponseOf<C[K]>) => {
      settled = true;
      detach();
      wake();
      if (err) reject(signal?.aborted ? cancelledByCaller(signal) : fromServiceError(err));
      else resolve(response);
    }) as grpc.ClientWritableStream<ClientStreamRequestOf<C[K]>>;
    const detach = linkSignal(signal, call);
    const pump = async () => {
      for await (const request of requests) {
        if (settled) return;
        if (!call.write(request)) {
          await new Promise<void>((resume) => {
            wake = resume;
            call.once('drain', resume);
          });
          call.off('drain', wake);
        }
      }
      if (!settled) call.end();
    };
    pump().catch((err: unknown) => {
      // The caller's request source failed: stop the call and report that failure, not CANCELLED.
      settled = true;
      detach();
      call.cancel();
      reject(PatchworkError.from(err));
    });
  });
  return reply;
}
