import { invalidArgument } from '@patchwork/errors';
import type { Model, ModelInputs } from '@patchwork/models';
import { SafetensorsFile, type tf } from '@patchwork/tensor';

const TOKEN_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

export interface LoadedInputs {
  inputs: ModelInputs;
  /** Every tensor read; the caller disposes them. */
  tensors: tf.Tensor[];
}

/**
 * Reads a model's inputs from a safetensors file with the names the peer fixtures use:
 * `input_ids` (+ `attention_mask`, `token_type_ids`), integer; or `pixel_values`, float.
 */
export async function readModelInputs(path: string, model: Model): Promise<LoadedInputs> {
  const file = await SafetensorsFile.open(path);
  const read = new Map<string, tf.Tensor>();
  try {
    const wanted: readonly string[] = model.inputKind === 'pixels' ? ['pixel_values'] : TOKEN_INPUTS;
    if (!file.has(wanted[0])) {
      throw invalidArgument(wanted[0], `is missing from ${path}, which a ${model.modelType} model needs (found: ${file.names().join(', ') || 'nothing'})`);
    }
    for (const name of wanted) {
      if (!file.has(name)) continue;
      const t = await file.readTensor(name);
      read.set(name, t);
      const wantFloat = name === 'pixel_values';
      if (wantFloat !== (t.dtype === 'float32')) throw invalidArgument(name, `in ${path} must be ${wantFloat ? 'a float' : 'an integer'} tensor, got dtype ${file.info(name).dtype}`);
    }
  } catch (e) {
    for (const t of read.values()) t.dispose();
    throw e;
  } finally {
    await file.close();
  }
  return {
    inputs: { inputIds: read.get('input_ids'), attentionMask: read.get('attention_mask'), tokenTypeIds: read.get('token_type_ids'), pixelValues: read.get('pixel_values') },
    tensors: [...read.values()],
  };
}
