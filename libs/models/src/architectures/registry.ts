import { PatchworkError } from '@patchwork/errors';
import type { RawConfig } from '../config/config-reader';
import type { Architecture } from '../core/types';
import { bert } from './bert';
import { gpt2 } from './gpt2';
import { llama } from './llama';
import { roberta } from './roberta';
import { vit } from './vit';

const ARCHITECTURES: ReadonlyMap<string, Architecture> = new Map([gpt2, bert, roberta, vit, llama].map((a) => [a.modelType, a]));

export function supportedModelTypes(): string[] {
  return [...ARCHITECTURES.keys()];
}

/**
 * The architecture for a config: by `model_type`, and when `architectures` names a class, that
 * class must be the one implemented (a BertForMaskedLM checkpoint must not run as a classifier).
 */
export function architectureFor(config: RawConfig, source = 'config.json'): Architecture {
  const modelType = config['model_type'];
  const arch = typeof modelType === 'string' ? ARCHITECTURES.get(modelType) : undefined;
  if (arch === undefined) {
    throw new PatchworkError(
      'INVALID_ARGUMENT',
      `${source}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${supportedModelTypes().join(', ')})`,
      { violations: [{ field: 'config.model_type', description: 'unsupported model type' }] },
    );
  }
  const classes = config['architectures'];
  if (classes !== undefined && classes !== null) {
    const named = Array.isArray(classes) ? classes : [classes];
    if (named.length > 0 && !named.some((c) => typeof c === 'string' && arch.classNames.includes(c))) {
      throw new PatchworkError(
        'INVALID_ARGUMENT',
        `${source}: architectures ${JSON.stringify(classes)} is not supported for model_type ${modelType} (supported: ${arch.classNames.join(', ')})`,
        { violations: [{ field: 'config.architectures', description: 'unsupported model class' }] },
      );
    }
  }
  return arch;
}
