import type { Model } from '@patchwork/models';
import { PyFloat } from './python-json';

/** The PEFT release whose on-disk format (config keys, tensor names) this library writes. */
export const PEFT_FORMAT_VERSION = '0.21.0';

export const ADAPTER_CONFIG_NAME = 'adapter_config.json';
export const ADAPTER_WEIGHTS_NAME = 'adapter_model.safetensors';
/** Every adapter tensor key starts with this (PeftModel -> LoraModel -> the transformers model). */
export const PEFT_KEY_PREFIX = 'base_model.model.';

/**
 * Keys PEFT 0.21 writes into every LoRA-family config for features this library does not use,
 * with the values PEFT writes when they are off. Together with the fields we model they make the
 * exact key set of the reference adapters.
 */
export function inactiveLoraFields(): Record<string, unknown> {
  return {
    alora_invocation_tokens: null,
    arrow_config: null,
    corda_config: null,
    ensure_weight_tying: false,
    eva_config: null,
    kasa_config: null,
    layer_replication: null,
    loftq_config: {},
    lora_ga_config: null,
    megatron_config: null,
    megatron_core: 'megatron.core',
    monteclora_config: null,
    qalora_group_size: 16,
    target_parameters: null,
    trainable_token_indices: null,
    use_bdlora: null,
    use_dora: false,
    use_qalora: false,
    velora_config: null,
  };
}

/**
 * What PEFT writes as `auto_mapping` when `task_type` is null: the transformers class the adapter
 * was trained on, so `AutoPeftModel` can rebuild it.
 */
export function autoMapping(model: Model, taskType: string | null): Record<string, string> | null {
  if (taskType !== null) return null;
  const archs = model.config.architectures;
  const className = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : model.architecture.classNames[0];
  return { base_model_class: className, parent_library: `transformers.models.${model.modelType}.modeling_${model.modelType}` };
}

export function pyFloat(x: number): PyFloat {
  return new PyFloat(x);
}
