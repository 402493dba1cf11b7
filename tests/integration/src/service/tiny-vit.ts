import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { tinyVit } from '@patchwork/evaluate/src/testing/tiny-models';
import { writeSafetensors } from '@patchwork/tensor';

/** A random tiny ViT for 8x8 digits, saved in the Hugging Face layout. */
export async function saveTinyVit(dir: string, seed: number): Promise<string> {
  const model = tinyVit(10, seed);
  try {
    await fs.mkdir(dir, { recursive: true });
    const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (const [key, tensor] of model.weights) tensors[key] = { dtype: 'F32', shape: tensor.shape, data: tensor.dataSync() as Float32Array };
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(model.config));
  } finally {
    model.dispose();
  }
  return dir;
}
