import { BertMlm, MLM_HEAD_KEYS } from '@patchwork/backbones';
import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { Checkpoint, type tf } from '@patchwork/tensor';

/**
 * The masked-LM head (`cls.predictions.*`) stored beside a BERT encoder in `modelDir`, which
 * libs/models does not load. Masked prompts need it; the caller disposes `head` values.
 */
export async function loadMlmHead(modelDir: string, encoder: Model): Promise<{ mlm: BertMlm; head: Map<string, tf.Tensor> }> {
  if (encoder.modelType !== 'bert') throw new PatchworkError('INVALID_ARGUMENT', `masked prompts need a BERT masked LM, the base model is ${encoder.modelType}`);
  const checkpoint = await Checkpoint.open(modelDir);
  const head = new Map<string, tf.Tensor>();
  try {
    const missing = Object.values(MLM_HEAD_KEYS).filter((k) => !checkpoint.has(k));
    if (missing.length > 0) {
      throw new PatchworkError('FAILED_PRECONDITION', `${modelDir} has no masked-LM head (${missing.join(', ')} missing): masked prompts need a BertForMaskedLM checkpoint`);
    }
    for (const key of Object.values(MLM_HEAD_KEYS)) head.set(key, await checkpoint.readTensor(key));
    return { mlm: new BertMlm(encoder, head), head };
  } catch (e) {
    for (const t of head.values()) t.dispose();
    throw e;
  } finally {
    await checkpoint.close();
  }
}
