import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { AdaLoraAdapter } from './adalora/adalora-adapter';
import type { AdaLoraConfigInput } from './config/adalora-config';
import type { HutConfigInput } from './config/hut-config';
import type { LoraConfigInput } from './config/lora-config';
import { HutAdapter } from './hut/hut-adapter';
import type { AnyAdapter } from './io/load-adapter';
import { type CreateAdapterOptions, LoraAdapter } from './lora/lora-adapter';

/** A config naming its method by PEFT's `peft_type` (LORA when absent). */
export type AdapterConfigInput = (LoraConfigInput & { peft_type?: 'LORA' }) | (AdaLoraConfigInput & { peft_type: 'ADALORA' }) | (HutConfigInput & { peft_type: 'HUT' });

/** A fresh trainable adapter of the method `config.peft_type` names; an unknown method is INVALID_ARGUMENT. */
export function createAdapter(model: Model, config: AdapterConfigInput, options: CreateAdapterOptions = {}): AnyAdapter {
  const type = (config as { peft_type?: unknown }).peft_type ?? 'LORA';
  switch (type) {
    case 'LORA':
      return LoraAdapter.create(model, config as LoraConfigInput, options);
    case 'ADALORA':
      return AdaLoraAdapter.create(model, config as AdaLoraConfigInput, options);
    case 'HUT':
      return HutAdapter.create(model, config as HutConfigInput, options);
    default:
      throw new PatchworkError('INVALID_ARGUMENT', `config.peft_type: unknown method ${JSON.stringify(type)}; expected LORA, ADALORA or HUT`, {
        violations: [{ field: 'config.peft_type', description: 'is not a known method' }],
      });
  }
}
