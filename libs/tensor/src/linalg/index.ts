// Linear algebra that tfjs lacks: Float64 QR and SVD on typed arrays, randomized truncated SVD on
// tensors, exact order statistics over data larger than one tensor, streaming reductions.
export type { RealArray } from './validate';
export type { QrMode, QrOptions, QrResult } from './qr';
export { qr } from './qr';
export { qrTensor } from './qr-tensor';
export type { SvdOptions, SvdResult } from './svd';
export { svd } from './svd';
export type { RandomizedSvdError, RandomizedSvdOptions, RandomizedSvdResult } from './randomized-svd';
export { randomizedSvd } from './randomized-svd';
export { SeededRandom } from './rng';
export type { ChunkSource } from './chunk-source';
export type { SelectOptions } from './kth-select';
export { kthLargest, kthSmallest } from './kth-select';
export type { StreamSelectOptions } from './radix-select';
export { kthLargestAbs, streamKthLargest, streamKthSmallest } from './radix-select';
export type { QuantileMethod } from './quantile-rule';
export type { QuantileOptions } from './quantile';
export { quantile, quantileOf } from './quantile';
export type { ChunkStats } from './stream-reduce';
export { StatsAccumulator, chunkStats, l2NormOfStats, meanOfStats, mergeStats, streamStats } from './stream-reduce';
