import { PatchworkError, ViolationCollector } from '@patchwork/errors';

export const LST_INITS = ['fisher', 'magnitude', 'random'] as const;
export type LstInit = (typeof LST_INITS)[number];

/** `adapter_config.json` of a ladder side network (`peft_type: "LST"`). */
export interface LstConfig {
  readonly peft_type: 'LST';
  readonly task_type: string | null;
  readonly base_model_name_or_path: string | null;
  /** r: the side network is r times narrower than the backbone (d/r, d_ff/r, head size/r, same heads). */
  readonly reduction_factor: number;
  /** Backbone blocks that get a side block and a ladder (0-based); null = all (no layer dropping). */
  readonly side_layers: number[] | null;
  /** Initial gate logit α (μ = σ(α/T)); 0 gives μ = 0.5 as in the paper's code. */
  readonly gate_alpha: number;
  /** Gate temperature T. */
  readonly gate_temperature: number;
  /** How side weights start: structured pruning by Fisher or weight-magnitude importance, or random. */
  readonly init: LstInit;
  /** Training examples (batch size 1) summed into the Fisher importance. */
  readonly fisher_samples: number;
  /** Backbone head modules trained alongside the side network (null: the classification head, if any). */
  readonly modules_to_save: string[] | null;
}

export type LstConfigInput = Partial<Omit<LstConfig, 'peft_type'>> & { peft_type?: 'LST' };

/** Facts about the backbone written at creation and checked when the side network is loaded. */
export interface LstBaseFacts {
  readonly base_model_type: string;
  readonly base_hidden_size: number;
  readonly base_num_layers: number;
  readonly base_num_attention_heads: number;
  readonly base_intermediate_size: number;
}

const KNOWN = new Set([
  'peft_type',
  'task_type',
  'base_model_name_or_path',
  'reduction_factor',
  'side_layers',
  'gate_alpha',
  'gate_temperature',
  'init',
  'fisher_samples',
  'modules_to_save',
]);

/** Keys that `save` derives and writes; accepted (and ignored) in input. */
export const DERIVED_KEYS = new Set(['base_model_type', 'base_hidden_size', 'base_num_layers', 'base_num_attention_heads', 'base_intermediate_size', 'side_hidden_size', 'side_intermediate_size', 'inference_mode', 'revision', 'peft_version', 'tensor_names']);

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Validates an LST config, filling the defaults. `mode` create refuses unknown keys (a typo must
 * not silently change nothing); load keeps them. Every problem is reported in one INVALID_ARGUMENT.
 */
export function parseLstConfig(input: unknown, field: string, mode: 'create' | 'load', numLayers: number): LstConfig {
  const problems = new ViolationCollector();
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new PatchworkError('INVALID_ARGUMENT', `${field}: must be an object`, { violations: [{ field, description: 'must be an object' }] });
  }
  const c = input as Record<string, unknown>;
  if (mode === 'create') for (const k of Object.keys(c)) if (!KNOWN.has(k) && !DERIVED_KEYS.has(k)) problems.add(`${field}.${k}`, 'is not an LST parameter');
  if (c.peft_type !== undefined && c.peft_type !== 'LST') problems.add(`${field}.peft_type`, `must be "LST", got ${JSON.stringify(c.peft_type)}`);
  const r = c.reduction_factor ?? 8;
  if (!isInt(r) || r < 1) problems.add(`${field}.reduction_factor`, `must be a positive integer, got ${JSON.stringify(r)}`);
  let sideLayers: number[] | null = null;
  if (c.side_layers !== undefined && c.side_layers !== null) {
    const s = c.side_layers;
    if (!Array.isArray(s) || s.length === 0) problems.add(`${field}.side_layers`, 'must be a non-empty list of backbone layer indices, or null for all');
    else {
      s.forEach((v, i) => {
        if (!isInt(v) || v < 0 || v >= numLayers) problems.add(`${field}.side_layers[${i}]`, `must be a layer index in [0, ${numLayers}), got ${JSON.stringify(v)}`);
      });
      if (new Set(s).size !== s.length) problems.add(`${field}.side_layers`, 'must not repeat a layer');
      sideLayers = [...(s as number[])].sort((a, b) => a - b);
    }
  }
  const num = (key: string, fallback: number, check: (v: number) => boolean, what: string): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) problems.add(`${field}.${key}`, `must be ${what}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const gateAlpha = num('gate_alpha', 0, () => true, 'a finite number');
  const gateT = num('gate_temperature', 0.1, (v) => v > 0, 'a positive number');
  const init = c.init ?? 'fisher';
  if (!(LST_INITS as readonly unknown[]).includes(init)) problems.add(`${field}.init`, `must be one of ${LST_INITS.join(', ')}, got ${JSON.stringify(init)}`);
  const fisherSamples = c.fisher_samples ?? 128;
  if (!isInt(fisherSamples) || fisherSamples < 1) problems.add(`${field}.fisher_samples`, `must be a positive integer, got ${JSON.stringify(fisherSamples)}`);
  let modules: string[] | null = null;
  if (c.modules_to_save !== undefined && c.modules_to_save !== null) {
    if (!Array.isArray(c.modules_to_save) || c.modules_to_save.some((m) => typeof m !== 'string' || m === '')) problems.add(`${field}.modules_to_save`, 'must be a list of module names or null');
    else modules = [...(c.modules_to_save as string[])];
  }
  const str = (key: string): string | null => {
    const v = c[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') problems.add(`${field}.${key}`, 'must be a string or null');
    return v as string;
  };
  const taskType = str('task_type');
  const base = str('base_model_name_or_path');
  problems.throwIfAny();
  return {
    peft_type: 'LST',
    task_type: taskType,
    base_model_name_or_path: base,
    reduction_factor: r as number,
    side_layers: sideLayers,
    gate_alpha: gateAlpha,
    gate_temperature: gateT,
    init: init as LstInit,
    fisher_samples: fisherSamples as number,
    modules_to_save: modules,
  };
}
