// The service runtime: configuration, gRPC server, fabric (queue, bus, KV, blobs), jobs, artifacts.
export * from './ports';
export * from './config';
export * from './observability';
export * from './grpc';
export * from './fabric';
export * from './jobs';
export * from './artifacts';
export * from './runtime';
