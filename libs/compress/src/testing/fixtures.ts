import type { ModelInputs } from '@patchwork/models';
import { SafetensorsFile, tf } from '@patchwork/tensor';
import * as nodePath from 'node:path';

/** `<repo root>/../shared/fixtures`, where CI lays the peer reference fixtures. */
export const FIXTURES = nodePath.resolve(__dirname, '../../../../../shared/fixtures');

export const FAMILIES = ['gpt2', 'bert', 'roberta', 'vit', 'llama'] as const;

export function peerModelDir(name: string): string {
  return nodePath.join(FIXTURES, 'peer/models', name);
}

/** Every tensor of a fixture's reference.safetensors; the caller disposes them. */
export async function readReference(name: string): Promise<Map<string, tf.Tensor>> {
  const file = await SafetensorsFile.open(nodePath.join(peerModelDir(name), 'reference.safetensors'));
  try {
    const out = new Map<string, tf.Tensor>();
    for (const info of file.tensors) out.set(info.name, await file.readTensor(info.name));
    return out;
  } finally {
    await file.close();
  }
}

export function referenceInputs(ref: ReadonlyMap<string, tf.Tensor>): ModelInputs {
  return { inputIds: ref.get('input_ids'), attentionMask: ref.get('attention_mask'), pixelValues: ref.get('pixel_values') };
}

/** max |a − b|, shapes must agree. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = d.dataSync()[0];
  d.dispose();
  return v;
}
