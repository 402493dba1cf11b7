// The curated public surface of @patchwork/compress: PELA low-rank models that stay fine-tunable.

// The pipeline
export { compressModel } from './compress-model';
export type { CompressDistillOptions, CompressDistillReport, CompressLayerReport, CompressOptions, CompressProgress, CompressReport } from './compress-model';

// Factorization
export { pelaRank, factoredWeights } from './factorize/rank';
export { gammaForTargetRatio, paramsAtGamma } from './factorize/target-ratio';
export type { LayerDims } from './factorize/target-ratio';
export { DEFAULT_EXCLUDE, DEFAULT_MIN_OUT_FEATURES, selectModules } from './factorize/select-modules';
export type { ModuleSelection, SelectModulesOptions, SkipReason, SkippedModule } from './factorize/select-modules';
export { countParameters, planFactorization } from './factorize/plan';
export type { FactorizationPlan, FactorizationTarget, PlanOptions, PlannedLayer } from './factorize/plan';
export { RANDOMIZED_DEFAULTS, SVD_METHODS, factorizeMatrix } from './factorize/factorize-matrix';
export type { FactorizeMatrixOptions, MatrixFactorization, RandomizedSvdSettings, SvdMethod } from './factorize/factorize-matrix';
export { reconstructionError } from './factorize/reconstruction-error';
export type { ReconstructionError } from './factorize/reconstruction-error';
export { factorizeModel } from './factorize/factorize-model';
export type { FactorizeModelOptions, FactorizeModelResult, LayerFactorization, LayerProgress } from './factorize/factorize-model';

// Low-rank models
export { LowRankModel } from './low-rank/low-rank-model';
export type { StoredFactorInput, TrainableScope } from './low-rank/low-rank-model';
export { lowRankLinear, lowRankSubstitute } from './low-rank/low-rank-substitute';
export type { LowRankFactor } from './low-rank/low-rank-substitute';
export { FACTOR_U_SUFFIX, FACTOR_V_SUFFIX, LOW_RANK_CONFIG_KEY, LOW_RANK_FORMAT_VERSION, lowRankConfigToJson, parseLowRankConfig } from './low-rank/low-rank-config';
export type { DistillationRecord, LowRankConfig, LowRankSettings } from './low-rank/low-rank-config';
export { saveLowRankModel } from './low-rank/save';
export type { SaveLowRankOptions, SaveLowRankResult } from './low-rank/save';
export { isLowRankModelDir, loadLowRankModel, readLowRankConfig } from './low-rank/load';
export type { LoadLowRankOptions } from './low-rank/load';
export { lowRankForwardFile } from './low-rank/forward-file';
export type { LowRankForwardFileOptions, LowRankForwardFileResult } from './low-rank/forward-file';

// Cost
export { defaultContextLength, flopsPerToken } from './cost/flops';
export type { FlopsPerToken, ModelShape } from './cost/flops';

// Intermediate pre-training
export { PERTURBATION_FORMS, featureDistillationLoss, weightPerturbationLoss } from './distill/losses';
export type { PerturbationForm, PerturbationLayer } from './distill/losses';
export { DISTILL_WEIGHT_DEFAULTS, distillObjective, teacherKernels } from './distill/objective';
export type { DistillBatch, DistillContext, DistillTerms, DistillWeights } from './distill/objective';
export { tensorDataset } from './distill/dataset';
export type { DistillDataset, TensorDatasetInput } from './distill/dataset';
export { DISTILL_DEFAULTS, distill, resolveDistillWeights } from './distill/distill';
export type { DistillOptions, DistillProgress, DistillResult, DistillStepRecord } from './distill/distill';
export type { TermValues } from './distill/term-recorder';
export { checkDistillData, distillSource, taskTermFor } from './distill/data-source';
export type { DistillSource, TaskTermKind } from './distill/data-source';
export { NAMED_DATA_DEFAULTS, namedDistillDataset } from './distill/named-dataset';
export type { DistillDataInfo, NamedDataOptions } from './distill/named-dataset';
