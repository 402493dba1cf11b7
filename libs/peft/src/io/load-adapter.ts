import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { ADALORA_TENSOR, AdaLoraAdapter } from '../adalora/adalora-adapter';
import { HUT_TENSOR, HutAdapter } from '../hut/hut-adapter';
import { LORA_TENSOR, LoraAdapter } from '../lora/lora-adapter';
import { readAdapterDir } from './adapter-dir';
import { sortAdapterTensors } from './adapter-keys';

/** Any adapter this library loads. */
export type AnyAdapter = LoraAdapter | AdaLoraAdapter | HutAdapter;

export interface LoadAdapterOptions {
  /** Seeds dropout masks if the adapter is trained further; default 0. */
  seed?: number;
}

const NOTHING = /^$/;

/**
 * Loads a PEFT adapter directory (`adapter_config.json` + `adapter_model.safetensors`) onto
 * `model`, dispatching on `peft_type` (LORA, ADALORA, HUT; others UNIMPLEMENTED). Module names in
 * either spelling are accepted (ViT). The adapter is checked against the model: a module the
 * model lacks or a tensor whose shape does not fit the base weight is INVALID_ARGUMENT naming it.
 */
export async function loadAdapter(dir: string, model: Model, options: LoadAdapterOptions = {}): Promise<AnyAdapter> {
  const files = await readAdapterDir(dir);
  const where = files.configPath;
  try {
    const peftType = files.config.peft_type;
    switch (peftType) {
      case 'LORA':
        return LoraAdapter.fromTensors(model, files.config, sortAdapterTensors(model, files.tensors, LORA_TENSOR, NOTHING, files.weightsPath), where, options.seed);
      case 'ADALORA':
        return AdaLoraAdapter.fromTensors(model, files.config, sortAdapterTensors(model, files.tensors, ADALORA_TENSOR, /\.ranknum$/, files.weightsPath), where, options.seed);
      case 'HUT':
        return HutAdapter.fromTensors(model, files.config, sortAdapterTensors(model, files.tensors, HUT_TENSOR, NOTHING, files.weightsPath), where, options.seed);
      default:
        throw new PatchworkError(
          typeof peftType === 'string' ? 'UNIMPLEMENTED' : 'INVALID_ARGUMENT',
          typeof peftType === 'string' ? `${where}: peft_type ${JSON.stringify(peftType)} is not supported (LORA, ADALORA, HUT are)` : `${where}: peft_type is missing`,
        );
    }
  } finally {
    for (const t of files.tensors.values()) t.dispose();
  }
}
