export type { ConditionalValue, Gradient, MergeConfig, MergeModelEntry, OutputDType, ParameterSetting } from './config/merge-config';
export { OUTPUT_DTYPES } from './config/merge-config';
export { parseMergeYaml } from './config/parse-yaml';
export type {
  ChoiceParameterSpec,
  ChunkInput,
  ChunkMerger,
  MergeMethod,
  NumberParameterSpec,
  ParameterSpec,
  StreamingMerge,
  TensorChunks,
  TensorMergeInput,
  TensorMerger,
  ValidationContext,
  WholeModelContext,
} from './methods/merge-method';
export { getMergeMethod, mergeMethodNames } from './methods/registry';
export { planMerge } from './plan';
export type { MergePlan, ModelResolver, PlannedTensor } from './plan';
export { V8_GC_SLACK_BYTES, executeMerge } from './execute';
export type { ExecuteOptions, MergeProgress, MergeSummary } from './execute';
export type { MergeCheckpoint, MergeCursor } from './execute/cursor';
export type { ShardRecord } from './io/shard-stream-writer';
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

export { PORT_NOTE, portPatch } from './port/port-patch';
export type { PortMode, PortPatchOptions, PortReport } from './port/port-patch';
export { checkpointDigest } from './port/checkpoint-digest';
export { SURGERY_NOTE, surgery } from './surgery/model-surgery';
export type { SurgeryOptions, SurgeryReport } from './surgery/model-surgery';
