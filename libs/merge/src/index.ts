export type { ConditionalValue, Gradient, MergeConfig, MergeModelEntry, OutputDType, ParameterSetting } from './config/merge-config';
export { OUTPUT_DTYPES } from './config/merge-config';
export { parseMergeYaml } from './config/parse-yaml';
export type {
  ChoiceParameterSpec,
  MergeMethod,
  NumberParameterSpec,
  ParameterSpec,
  TensorMergeInput,
  TensorMerger,
  ValidationContext,
  WholeModelContext,
} from './methods/merge-method';
export { getMergeMethod, mergeMethodNames } from './methods/registry';
export { planMerge } from './plan';
export type { MergePlan, ModelResolver, PlannedTensor } from './plan';
export { executeMerge } from './execute';
export type { ExecuteOptions, MergeProgress, MergeSummary } from './execute';
export { mergeInMemory } from './merge-in-memory';
export type { InMemoryMergeRequest, InMemoryModel } from './merge-in-memory';

// Tensor-level functions, for tests against reference implementations and for callers with their own I/O.
export * as peftMergeUtils from './math/peft-merge-utils';
export { pcbMerge } from './math/pcb';
export type { PcbOptions, PcbResult } from './math/pcb';
export { tiesMerging } from './math/ties-paper';
export { slerp as slerpTensors } from './math/slerp';
export { modelStock as modelStockTensors } from './math/model-stock';

export { searchCoefficients } from './search/coefficient-search';
export type { CoefficientSearchOptions, CoefficientSearchResult, SearchEvaluation } from './search/coefficient-search';

export { LORA_COMBINATIONS, combineLoraAdapters } from './lora/combine';
export type { CombineLoraOptions, CombineLoraResult, LoraCombination, WeightedAdapter } from './lora/combine';
export { readLoraAdapter } from './lora/adapter-dir';
export type { LoraAdapter, LoraModule } from './lora/adapter-dir';

export { MOS_DEFAULT_MOMENTUM, mergeMosAdapter, mosMomentumMerge } from './mos/mos-merge';
export type { MosMergeOptions } from './mos/mos-merge';
