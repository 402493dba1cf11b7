import * as grpc from '@grpc/grpc-js';
import type { Context, TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/** Reads W3C trace headers from gRPC metadata (text values only; binary keys end in `-bin`). */
export const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key).filter((v): v is string => typeof v === 'string');
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  },
};

export const metadataSetter: TextMapSetter<grpc.Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

/**
 * The trace context of each call, keyed by its request metadata: grpc-js hands the interceptors'
 * metadata object on to the handler's call unchanged, and runs handlers outside the interceptors'
 * async context, so this is how the observing interceptor tells the handler adapters which context
 * to run in. Weak keys: an entry goes with its call.
 */
const callContexts = new WeakMap<grpc.Metadata, Context>();

export function setCallTraceContext(metadata: grpc.Metadata, ctx: Context): void {
  callContexts.set(metadata, ctx);
}

export function callTraceContext(metadata: grpc.Metadata): Context | undefined {
  return callContexts.get(metadata);
}
