import { PatchworkError } from '@patchwork/errors';
import type { FieldReader } from './field-reader';

/** Which base-model biases train with the adapter (PEFT's `bias`; `<method>_only` = biases of adapted modules). */
export type BiasMode = 'none' | 'all' | 'lora_only' | 'hut_only';

/** Which modules an adapter attaches to and which base parameters it carries, PEFT's semantics. */
export interface TargetingConfig {
  /** Module names (exact or `.name` suffix), one regex string (full match), `'all-linear'`, or null for the architecture default. */
  target_modules: string[] | string | null;
  /** Same forms as `target_modules`; matching modules are never adapted. */
  exclude_modules: string[] | string | null;
  /** Only layers with these indices (list targets only). */
  layers_to_transform: number[] | number | null;
  /** The name of the layer list (`h`, `layers`, `layer`) that `layers_to_transform` indexes. */
  layers_pattern: string[] | string | null;
  /** Modules trained in full and saved beside the adapter (a name matches modules ending with it). */
  modules_to_save: string[] | null;
  /** Informational: set from the targeted weights' layout (GPT-2 Conv1D stores `[in, out]`). */
  fan_in_fan_out: boolean;
  bias: BiasMode;
}

/** Bookkeeping fields PEFT writes and reads back. */
export interface AdapterMeta {
  task_type: string | null;
  base_model_name_or_path: string | null;
  revision: string | null;
  inference_mode: boolean;
}

export const TARGETING_DEFAULTS: TargetingConfig = {
  target_modules: null,
  exclude_modules: null,
  layers_to_transform: null,
  layers_pattern: null,
  modules_to_save: null,
  fan_in_fan_out: false,
  bias: 'none',
};

export function readTargeting(reader: FieldReader, biasModes: readonly BiasMode[]): TargetingConfig {
  const targeting: TargetingConfig = {
    target_modules: reader.names('target_modules', true),
    exclude_modules: reader.names('exclude_modules', true),
    layers_to_transform: readLayers(reader),
    layers_pattern: reader.names('layers_pattern', true),
    modules_to_save: reader.names('modules_to_save', false) as string[] | null,
    fan_in_fan_out: reader.bool('fan_in_fan_out', false),
    bias: reader.enumOf('bias', biasModes, 'none'),
  };
  if (typeof targeting.target_modules === 'string' && targeting.layers_to_transform !== null) {
    reader.fail('layers_to_transform', 'cannot be used when target_modules is a regex string');
  }
  if (targeting.layers_pattern !== null && targeting.layers_to_transform === null) {
    reader.fail('layers_pattern', 'needs layers_to_transform');
  }
  return targeting;
}

function readLayers(reader: FieldReader): number[] | number | null {
  const v = reader.value('layers_to_transform');
  if (v === undefined || v === null) return null;
  const ok = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  if (ok(v)) return v as number;
  if (Array.isArray(v) && v.every(ok)) return [...(v as number[])];
  reader.fail('layers_to_transform', `must be a layer index or a list of them, got ${JSON.stringify(v)}`);
  return null;
}

export function readMeta(reader: FieldReader): AdapterMeta {
  // Rewritten on every save from the model and this library's format version, never carried over.
  reader.value('auto_mapping');
  reader.value('peft_version');
  return {
    task_type: reader.optionalString('task_type'),
    base_model_name_or_path: reader.optionalString('base_model_name_or_path'),
    revision: reader.optionalString('revision'),
    inference_mode: reader.bool('inference_mode', false),
  };
}

/** Checks `peft_type` when present. */
export function readPeftType(reader: FieldReader, expected: string): void {
  const v = reader.value('peft_type');
  if (v !== undefined && v !== null && v !== expected) reader.fail('peft_type', `must be ${JSON.stringify(expected)}, got ${JSON.stringify(v)}`);
}

export function positiveRank(v: unknown): string | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? undefined : `must be a positive integer rank, got ${JSON.stringify(v)}`;
}

export function finiteNumber(v: unknown): string | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? undefined : `must be a finite number, got ${JSON.stringify(v)}`;
}

const isSet = (v: unknown): boolean => v !== undefined && v !== null && v !== false;

/**
 * PEFT features that change what the adapter computes. An adapter using one would silently give
 * wrong outputs if its extra parts were ignored, so it is refused.
 */
const UNSUPPORTED_FEATURES: ReadonlyArray<readonly [string, string]> = [
  ['use_dora', 'DoRA (weight-decomposed LoRA)'],
  ['use_qalora', 'QA-LoRA'],
  ['layer_replication', 'layer replication'],
  ['alora_invocation_tokens', 'activated LoRA (aLoRA)'],
  ['trainable_token_indices', 'trainable token indices'],
  ['target_parameters', 'LoRA on parameters (target_parameters)'],
  ['arrow_config', 'Arrow routing'],
  ['monteclora_config', 'MonteCLoRA'],
  ['kasa_config', 'KaSA'],
  ['velora_config', 'VeLoRA'],
  ['use_bdlora', 'block-diagonal LoRA'],
];

/** UNIMPLEMENTED naming the first feature in use; `{}` and `false` count as unused. */
export function refuseUnsupported(raw: Readonly<Record<string, unknown>>, where: string): void {
  for (const [key, what] of UNSUPPORTED_FEATURES) {
    const v = raw[key];
    const used = isSet(v) && !(typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
    if (used) throw new PatchworkError('UNIMPLEMENTED', `${where}.${key}: ${what} is not supported (got ${JSON.stringify(v)})`, { violations: [{ field: `${where}.${key}`, description: `${what} is not supported` }] });
  }
}
