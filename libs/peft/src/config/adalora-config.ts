import type { Model } from '@patchwork/models';
import { readMeta, readPeftType, readTargeting, refuseUnsupported } from './common';
import { FieldReader } from './field-reader';
import { type ConfigPurpose, type LoraConfig, type Parsed, loraFieldsJson, readLoraFields, refuseUnknownKeys } from './lora-config';
import { inactiveLoraFields, pyFloat } from './peft-format';

/**
 * An AdaLoRA configuration with PEFT's field names and defaults (`AdaLoraConfig`). `r` is unused
 * (PEFT warns); ranks start at `init_r` and a cubic schedule prunes them to `target_r` on average.
 */
export interface AdaLoraConfig extends Omit<LoraConfig, 'rank_pattern'> {
  init_r: number;
  target_r: number;
  /** Steps of full-rank warm-up before pruning starts. */
  tinit: number;
  /** Final steps trained at the target budget with the mask frozen. */
  tfinal: number;
  /** Steps between mask updates during the pruning phase. */
  deltaT: number;
  /** EMA factor of the sensitivity. */
  beta1: number;
  /** EMA factor of the uncertainty. */
  beta2: number;
  orth_reg_weight: number;
  total_step: number;
  /** `<module>.lora_E` -> which of the init_r triplets are kept; null before the first mask. */
  rank_pattern: Record<string, boolean[]> | null;
}

export type AdaLoraConfigInput = Partial<AdaLoraConfig> & { peft_type?: 'ADALORA'; total_step: number };

const ADALORA_ONLY: Record<string, unknown> = { beta1: 0, beta2: 0, deltaT: 0, init_r: 0, orth_reg_weight: 0, target_r: 0, tfinal: 0, tinit: 0, total_step: 0 };

function readMasks(reader: FieldReader): Record<string, boolean[]> | null {
  const v = reader.value('rank_pattern');
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) {
    reader.fail('rank_pattern', 'must be an object of <module>.lora_E -> list of booleans');
    return null;
  }
  const out: Record<string, boolean[]> = {};
  for (const [k, mask] of Object.entries(v as Record<string, unknown>)) {
    if (!Array.isArray(mask) || mask.some((b) => typeof b !== 'boolean')) reader.problems.add(`${reader.field('rank_pattern')}.${k}`, 'must be a list of booleans (the kept ranks)');
    else out[k] = [...(mask as boolean[])];
  }
  return out;
}

/** Validates an AdaLoRA config; the same error contract as `parseLoraConfig`. */
export function parseAdaLoraConfig(raw: unknown, where = 'config', purpose: ConfigPurpose = 'create'): Parsed<AdaLoraConfig> {
  const reader = FieldReader.of(raw, where);
  refuseUnsupported(raw as Record<string, unknown>, where);
  readPeftType(reader, 'ADALORA');
  const lora = readLoraFields(reader, purpose);
  if (typeof lora.init_lora_weights !== 'boolean') reader.fail('init_lora_weights', 'must be true or false for AdaLoRA');
  const loftq = reader.value('loftq_config');
  if (loftq !== undefined && loftq !== null && !(typeof loftq === 'object' && Object.keys(loftq).length === 0)) reader.fail('loftq_config', 'AdaLoRA does not support LoftQ');
  const unit = (n: number): string | undefined => (n > 0 && n < 1 ? undefined : `must be in (0, 1), got ${n}`);
  const config: AdaLoraConfig = {
    ...lora,
    ...readTargeting(reader, ['none', 'all', 'lora_only']),
    ...readMeta(reader),
    init_r: reader.int('init_r', 12, 1),
    target_r: reader.int('target_r', 8, 1),
    tinit: reader.int('tinit', 0, 0),
    tfinal: reader.int('tfinal', 0, 0),
    deltaT: reader.int('deltaT', 1, 1),
    beta1: reader.number('beta1', 0.85, unit),
    beta2: reader.number('beta2', 0.85, unit),
    orth_reg_weight: reader.number('orth_reg_weight', 0.5, (n) => (n >= 0 ? undefined : `must be >= 0, got ${n}`)),
    total_step: reader.requiredInt('total_step', 1),
    rank_pattern: readMasks(reader),
  };
  if (config.target_r > config.init_r) reader.fail('target_r', `must not exceed init_r (${config.init_r}), got ${config.target_r}`);
  if (config.tinit >= config.total_step - config.tfinal) {
    reader.fail('tinit', `leaves no budgeting phase: tinit (${config.tinit}) must be < total_step - tfinal (${config.total_step - config.tfinal})`);
  }
  if (config.rank_pattern !== null) {
    for (const [k, mask] of Object.entries(config.rank_pattern)) {
      if (mask.length !== config.init_r) reader.problems.add(`${reader.field('rank_pattern')}.${k}`, `has ${mask.length} entries, expected init_r = ${config.init_r}`);
    }
  }
  reader.done();
  const extras = reader.unread();
  if (purpose === 'create') refuseUnknownKeys(extras, { ...inactiveLoraFields(), r: 0, ...ADALORA_ONLY }, where);
  return { config, extras };
}

export function adaLoraConfigJson(config: AdaLoraConfig, extras: Record<string, unknown>, model: Model, rankPattern: Record<string, boolean[]> | null): Record<string, unknown> {
  return {
    ...loraFieldsJson(config, model),
    beta1: pyFloat(config.beta1),
    beta2: pyFloat(config.beta2),
    deltaT: config.deltaT,
    init_r: config.init_r,
    orth_reg_weight: pyFloat(config.orth_reg_weight),
    rank_pattern: rankPattern,
    target_r: config.target_r,
    tfinal: config.tfinal,
    tinit: config.tinit,
    total_step: config.total_step,
    ...extras,
    peft_type: 'ADALORA',
    inference_mode: true,
  };
}
