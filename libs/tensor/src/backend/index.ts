export type { BackendChoice, BackendInfo, BackendLogger, BackendName, InitBackendOptions } from './types';
export { backendInfo, initBackend, shutdownBackends } from './init';
export { registerWasmUnsortedSegmentSum } from './kernels/unsorted-segment-sum';
