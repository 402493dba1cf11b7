export type { MergeConfig, MergeModelEntry, OutputDType } from './config/merge-config';
export { OUTPUT_DTYPES } from './config/merge-config';
export { parseMergeYaml } from './config/parse-yaml';
export type { MergeMethod, ParameterSpec, TensorMergeInput } from './methods/merge-method';
export { getMergeMethod, mergeMethodNames } from './methods/registry';
export { planMerge } from './plan';
export type { MergePlan, ModelResolver, PlannedTensor } from './plan';
export { executeMerge } from './execute';
export type { ExecuteOptions, MergeProgress, MergeSummary } from './execute';
