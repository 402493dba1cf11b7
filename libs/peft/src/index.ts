// The curated public surface of @patchwork/peft: LoRA, AdaLoRA and HUT adapters in the PEFT layout.

// Adapters
export { PeftAdapter } from './core/peft-adapter';
export type { AdapterForwardOptions, MergedLinear, SaveAdapterOptions } from './core/peft-adapter';
export type { AdapterModule, KeySpelling, PeftType } from './core/adapter-module';
export { LoraAdapter } from './lora/lora-adapter';
export type { CreateAdapterOptions, LoraLayer } from './lora/lora-adapter';
export { AdaLoraAdapter } from './adalora/adalora-adapter';
export type { AdaLoraLayer } from './adalora/adalora-adapter';
export { HutAdapter } from './hut/hut-adapter';
export type { HutLayer } from './hut/hut-adapter';
export { createAdapter } from './create-adapter';
export type { AdapterConfigInput } from './create-adapter';

// AdaLoRA training
export { RankAllocator } from './adalora/rank-allocator';
export type { AllocationStep, GradientMap } from './adalora/rank-allocator';
export { budgetAt, keepMasks } from './adalora/budget';
export type { BudgetSchedule, BudgetStep } from './adalora/budget';
export { orthogonalRegularizer } from './adalora/orthogonal';

// Configs
export { parseLoraConfig } from './config/lora-config';
export type { InitLoraWeights, LoraConfig, LoraConfigInput } from './config/lora-config';
export { parseAdaLoraConfig } from './config/adalora-config';
export type { AdaLoraConfig, AdaLoraConfigInput } from './config/adalora-config';
export { HUT_UPDATE_FORM, parseHutConfig } from './config/hut-config';
export type { HutConfig, HutConfigInput } from './config/hut-config';
export type { AdapterMeta, BiasMode, TargetingConfig } from './config/common';
export { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, PEFT_FORMAT_VERSION, PEFT_KEY_PREFIX } from './config/peft-format';
export { PyFloat, toPythonJson } from './config/python-json';

// Targeting
export { ALL_LINEAR, ADALORA_DEFAULT_TARGETS, LORA_DEFAULT_TARGETS, resolveTargets } from './targeting/resolve-targets';
export type { ResolvedTargets } from './targeting/resolve-targets';
export { ModuleCatalog } from './targeting/module-catalog';

// Files
export { loadAdapter } from './io/load-adapter';
export type { AnyAdapter, LoadAdapterOptions } from './io/load-adapter';
export { readAdapterDir } from './io/adapter-dir';
export type { AdapterFiles } from './io/adapter-dir';
export { applyAdapterForward } from './files/adapter-forward';
export type { AdapterForwardFileOptions, AdapterForwardFileResult } from './files/adapter-forward';
export { mergeAdapterIntoModel } from './files/merge-model';
export type { MergeAdapterOptions, MergeAdapterResult } from './files/merge-model';
export { readModelInputs } from './files/model-inputs';
export type { LoadedInputs } from './files/model-inputs';
