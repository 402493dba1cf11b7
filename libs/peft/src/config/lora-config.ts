import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { type AdapterMeta, type TargetingConfig, finiteNumber, positiveRank, readMeta, readPeftType, readTargeting, refuseUnsupported } from './common';
import { FieldReader } from './field-reader';
import { PEFT_FORMAT_VERSION, autoMapping, inactiveLoraFields, pyFloat } from './peft-format';

/** `init_lora_weights`: true = kaiming-uniform A and zero B (a no-op at step 0); false = both random. */
export type InitLoraWeights = boolean | 'gaussian';

/** A LoRA configuration with PEFT's field names, meanings and defaults (`LoraConfig`). */
export interface LoraConfig extends TargetingConfig, AdapterMeta {
  r: number;
  lora_alpha: number;
  /** Dropout on the LoRA branch input, applied only in training forwards. */
  lora_dropout: number;
  /** scaling = lora_alpha / sqrt(r) instead of lora_alpha / r. */
  use_rslora: boolean;
  /** Loaded adapters may carry other PEFT initialisers (pissa, olora, ...); only creation needs these three. */
  init_lora_weights: InitLoraWeights | string;
  /** Per-module rank overrides keyed by a regex matched against the end of the module name. */
  rank_pattern: Record<string, number>;
  /** Per-module alpha overrides, same keys as `rank_pattern`. */
  alpha_pattern: Record<string, number>;
  /** A trainable bias on lora_B (`lora_B.bias`), scaled like the branch. */
  lora_bias: boolean;
}

/** What callers pass: any subset, with PEFT's defaults for the rest. */
export type LoraConfigInput = Partial<LoraConfig> & { peft_type?: 'LORA' };

/** A parsed config plus the keys it did not model, written back unchanged on save. */
export interface Parsed<C> {
  config: C;
  extras: Record<string, unknown>;
}

export type ConfigPurpose = 'create' | 'load';

/** Refuses keys outside PEFT's config when a caller builds a config (a typo must not pass silently). */
export function refuseUnknownKeys(extras: Record<string, unknown>, known: Record<string, unknown>, where: string): void {
  const unknown = Object.keys(extras).filter((k) => !(k in known));
  if (unknown.length > 0) {
    throw new PatchworkError('INVALID_ARGUMENT', `${where} has unknown field(s): ${unknown.join(', ')}`, {
      violations: unknown.map((k) => ({ field: `${where}.${k}`, description: 'is not a known field' })),
    });
  }
}

export function readLoraFields(reader: FieldReader, purpose: ConfigPurpose): Omit<LoraConfig, keyof TargetingConfig | keyof AdapterMeta | 'rank_pattern'> {
  const init = reader.value('init_lora_weights');
  let initLoraWeights: InitLoraWeights | string = true;
  if (init !== undefined && init !== null) {
    const allowed = purpose === 'create' ? init === true || init === false || init === 'gaussian' : typeof init === 'boolean' || typeof init === 'string';
    if (allowed) initLoraWeights = init as InitLoraWeights | string;
    else reader.fail('init_lora_weights', `must be true, false or "gaussian", got ${JSON.stringify(init)}`);
  }
  return {
    r: reader.number('r', 8, positiveRank),
    lora_alpha: reader.number('lora_alpha', 8),
    lora_dropout: reader.number('lora_dropout', 0, (p) => (p >= 0 && p < 1 ? undefined : `must be in [0, 1), got ${p}`)),
    use_rslora: reader.bool('use_rslora', false),
    init_lora_weights: initLoraWeights,
    alpha_pattern: reader.record<number>('alpha_pattern', finiteNumber),
    lora_bias: reader.bool('lora_bias', false),
  };
}

/**
 * Validates a LoRA config (options from a caller, or a parsed `adapter_config.json`).
 * Bad values: one INVALID_ARGUMENT listing them all (rank <= 0 included); PEFT features that
 * change the computation and are not implemented (DoRA, ...): UNIMPLEMENTED.
 */
export function parseLoraConfig(raw: unknown, where = 'config', purpose: ConfigPurpose = 'create'): Parsed<LoraConfig> {
  const reader = FieldReader.of(raw, where);
  refuseUnsupported(raw as Record<string, unknown>, where);
  readPeftType(reader, 'LORA');
  const config: LoraConfig = {
    ...readLoraFields(reader, purpose),
    rank_pattern: reader.record<number>('rank_pattern', positiveRank),
    ...readTargeting(reader, ['none', 'all', 'lora_only']),
    ...readMeta(reader),
  };
  reader.done();
  const extras = reader.unread();
  if (purpose === 'create') refuseUnknownKeys(extras, inactiveLoraFields(), where);
  return { config, extras };
}

/** The fields shared by LoRA and AdaLoRA configs, as PEFT writes them. */
export function loraFieldsJson(config: LoraConfig | Omit<LoraConfig, 'rank_pattern'>, model: Model): Record<string, unknown> {
  return {
    ...inactiveLoraFields(),
    alpha_pattern: config.alpha_pattern,
    auto_mapping: autoMapping(model, config.task_type),
    base_model_name_or_path: config.base_model_name_or_path,
    bias: config.bias,
    exclude_modules: config.exclude_modules,
    fan_in_fan_out: config.fan_in_fan_out,
    inference_mode: config.inference_mode,
    init_lora_weights: config.init_lora_weights,
    layers_pattern: config.layers_pattern,
    layers_to_transform: config.layers_to_transform,
    lora_alpha: config.lora_alpha,
    lora_bias: config.lora_bias,
    lora_dropout: pyFloat(config.lora_dropout),
    modules_to_save: config.modules_to_save,
    peft_version: PEFT_FORMAT_VERSION,
    r: config.r,
    revision: config.revision,
    target_modules: config.target_modules,
    task_type: config.task_type,
    use_rslora: config.use_rslora,
  };
}

/** `adapter_config.json` content for a LoRA config (saved adapters are in inference mode, as PEFT writes them). */
export function loraConfigJson(config: LoraConfig, extras: Record<string, unknown>, model: Model): Record<string, unknown> {
  return { ...loraFieldsJson(config, model), rank_pattern: config.rank_pattern, ...extras, peft_type: 'LORA', inference_mode: true };
}
