// The curated public surface of @patchwork/models.
export { Model, createModel } from './model';
export type { CreateModelOptions } from './model';
export { loadModel, readModelConfig } from './load';
export type { LoadModelOptions } from './load';
export { forwardFile } from './forward-file';
export type { ForwardFileOptions, ForwardFileResult } from './forward-file';
export { architectureFor, supportedModelTypes } from './architectures/registry';
export { VIT_MODULE_ALIASES } from './architectures/vit';
export type { RawConfig } from './config/config-reader';

export { ForwardContext, baseLinear } from './core/forward-context';
export type { LinearCall, LinearPatch, LinearPatchSet, LinearSubstitute } from './core/forward-context';
export { isFanInFanOut } from './core/linear-spec';
export type { LinearKind, LinearSpec, WeightLayout } from './core/linear-spec';
export { ModuleNames } from './core/module-names';
export type { Architecture, ForwardOptions, ForwardOutput, InputKind, ModelInputs, ModuleAlias } from './core/types';

// Building blocks, exported for method libraries that compose their own heads or side networks.
export { activation, erf, erfc, geluErf, geluTanh, silu } from './core/activations';
export type { Activation } from './core/activations';
export { FLOAT32_MIN, additiveAttentionMask, scaledDotProductAttention } from './core/attention';
export { layerNorm, rmsNorm } from './core/norms';
export { SUPPORTED_ROPE_TYPES, applyRope, ropeInverseFrequencies, ropeTables } from './core/rope';
export type { RopeSettings } from './core/rope';
