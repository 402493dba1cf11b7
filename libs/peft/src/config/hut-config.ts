import type { Model } from '@patchwork/models';
import { type AdapterMeta, type TargetingConfig, finiteNumber, positiveRank, readMeta, readPeftType, readTargeting } from './common';
import { FieldReader } from './field-reader';
import { type ConfigPurpose, type Parsed, refuseUnknownKeys } from './lora-config';
import { autoMapping } from './peft-format';

/**
 * The exact update a HUT adapter applies, written into its config so that an adapter made for a
 * different form is refused rather than misapplied. `*` is element-wise, `@` the matrix product.
 */
export const HUT_UPDATE_FORM = 'W = W0 * (1 + (hut_alpha / r) * (hut_U @ hut_V))';

/** A HUT (Hadamard Updated Transformation) configuration; see README.md for the interpretation. */
export interface HutConfig extends TargetingConfig, AdapterMeta {
  r: number;
  hut_alpha: number;
  /** true: hut_U kaiming-uniform and hut_V zero (identity at init); false: both random (tests). */
  init_hut_weights: boolean;
  /** Per-module overrides with PEFT's pattern-key matching. */
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
}

export type HutConfigInput = Partial<HutConfig> & { peft_type?: 'HUT' };

const HUT_KNOWN: Record<string, unknown> = { update_form: HUT_UPDATE_FORM };

/** Validates a HUT config; the same error contract as `parseLoraConfig`. */
export function parseHutConfig(raw: unknown, where = 'config', purpose: ConfigPurpose = 'create'): Parsed<HutConfig> {
  const reader = FieldReader.of(raw, where);
  readPeftType(reader, 'HUT');
  const form = reader.value('update_form');
  if (form !== undefined && form !== HUT_UPDATE_FORM) reader.fail('update_form', `must be ${JSON.stringify(HUT_UPDATE_FORM)}, got ${JSON.stringify(form)}`);
  const config: HutConfig = {
    r: reader.number('r', 8, positiveRank),
    hut_alpha: reader.number('hut_alpha', 8),
    init_hut_weights: reader.bool('init_hut_weights', true),
    rank_pattern: reader.record<number>('rank_pattern', positiveRank),
    alpha_pattern: reader.record<number>('alpha_pattern', finiteNumber),
    ...readTargeting(reader, ['none', 'all', 'hut_only']),
    ...readMeta(reader),
  };
  reader.done();
  const extras = reader.unread();
  if (purpose === 'create') refuseUnknownKeys(extras, HUT_KNOWN, where);
  return { config, extras };
}

export function hutConfigJson(config: HutConfig, extras: Record<string, unknown>, model: Model): Record<string, unknown> {
  return {
    alpha_pattern: config.alpha_pattern,
    auto_mapping: autoMapping(model, config.task_type),
    base_model_name_or_path: config.base_model_name_or_path,
    bias: config.bias,
    exclude_modules: config.exclude_modules,
    fan_in_fan_out: config.fan_in_fan_out,
    hut_alpha: config.hut_alpha,
    init_hut_weights: config.init_hut_weights,
    layers_pattern: config.layers_pattern,
    layers_to_transform: config.layers_to_transform,
    modules_to_save: config.modules_to_save,
    r: config.r,
    rank_pattern: config.rank_pattern,
    revision: config.revision,
    target_modules: config.target_modules,
    task_type: config.task_type,
    update_form: HUT_UPDATE_FORM,
    ...extras,
    peft_type: 'HUT',
    inference_mode: true,
  };
}
