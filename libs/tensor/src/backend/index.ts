export type { BackendChoice, BackendInfo, BackendLogger, BackendName, InitBackendOptions } from './types';
export { backendInfo, initBackend, shutdownBackends } from './init';
export { registerWasmUnsortedSegmentSum } from './kernels/unsorted-segment-sum';
export type { FastKernelBackend, FastMatMulOptions } from './kernels/fast-matmul';
export { fastMatMulInfo, installFastMatMul, ONNX_MIN_MACS, restoreMatMul } from './kernels/fast-matmul';
