// The curated public surface of @patchwork/finetune: LST, LiST and MUSCLE training and the
// config-driven training runner of the train service.

// Runner
export { trainFromConfig } from './runner/train-from-config';
export type { EncodingCache } from './runner/prepare-task';
export type { FinetuneProgress, TrainFromConfigOptions, TrainFromConfigResult } from './runner/train-from-config';
export { METHODS, parseRunConfig } from './runner/run-config';
export { checkRunConfig } from './runner/check-run-config';
export type { DataSettings, EarlyStoppingSettings, Method, PromptSettings, RunConfig, TrainerSettings } from './runner/run-config';
export { resolveModelDir } from './runner/resolve-model';

// LST: ladder side-tuning
export { LST_SIDE_PREFIX, LstAdapter } from './lst/lst-adapter';
export type { CreateLstOptions } from './lst/lst-adapter';
export { LST_INITS, parseLstConfig } from './lst/lst-config';
export type { LstConfig, LstConfigInput, LstInit } from './lst/lst-config';
export { LST_ARCHITECTURES, blockSchema } from './lst/block-schema';
export type { BlockSchema } from './lst/block-schema';
export { planPruning } from './lst/prune-plan';
export type { ImportanceMap, PrunePlan } from './lst/prune-plan';
export { fisherImportance, magnitudeImportance } from './lst/importance';
export { sideParamShapes } from './lst/side-network';

// LiST: prompted self-training
export { META_WEIGHT_DELTA, metaWeights } from './list/meta-weights';
export { PROMPT_FILE } from './list/list-method';
export type { ListConfig } from './list/list-config';

// MUSCLE: compatibility adapters
export { compatibilityLoss } from './muscle/compat-loss';
export type { CompatLossOptions } from './muscle/compat-loss';
export { flipMetrics, samplesOf } from './muscle/flip-metrics';
export type { MuscleConfig } from './muscle/muscle-method';

// Building blocks
export { outsideTape } from './core/outside-tape';
export { PromptTemplate } from './data/prompt-template';
export type { PromptSpec, PromptStyle } from './data/prompt-template';
export { ExampleSet } from './data/example-set';
export { evaluateSet } from './core/evaluate-set';
export type { SetEvaluation } from './core/evaluate-set';
export { classifierHead, promptHead } from './heads/label-head';
export type { LabelHead } from './heads/label-head';
