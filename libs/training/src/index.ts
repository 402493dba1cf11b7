// The curated public surface of @patchwork/training.
export { Prng, splitMix64 } from './random/prng';
export type { PrngState } from './random/prng';

export { ADAMW_DEFAULTS, AdamW, defaultDecayFilter } from './optim/adamw';
export type { AdamWOptions, AdamWState } from './optim/adamw';
export { SCHEDULE_KINDS, lrSchedule } from './optim/schedule';
export type { LrSchedule, ScheduleKind, ScheduleOptions } from './optim/schedule';
export { clipByGlobalNorm, globalNorm } from './optim/clip';
export type { ClipResult } from './optim/clip';

export { IGNORE_INDEX, countedLabels, crossEntropy } from './losses/cross-entropy';
export type { Reduction } from './losses/cross-entropy';
export { causalLmLabels, causalLmLoss } from './losses/causal-lm';
export { maskTokens, maskedLmLoss } from './losses/masked-lm';
export type { MaskTokensOptions, MaskedTokens } from './losses/masked-lm';
export { classificationLoss } from './losses/classification';

export { BATCH_STREAM, train } from './trainer/trainer';
export type { TrainResult } from './trainer/trainer';
export { DataOrder, epochStream } from './trainer/data-order';
export type { DataCursor } from './trainer/data-order';
export { CHECKPOINT_FILES, checkpointPath, listCheckpoints } from './trainer/checkpoint-store';
export type { EvalRecord, StepRecord, TrainerState } from './trainer/run-state';
export type {
  CheckpointOptions,
  EarlyStoppingOptions,
  EvaluationOptions,
  ExtraState,
  Metrics,
  MicroBatch,
  TrainOptions,
  TrainProgress,
} from './trainer/options';

export { registerWasmMatMulFastPath, unregisterWasmMatMulFastPath } from './kernels/wasm-matmul';
