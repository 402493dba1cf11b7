import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { encodeFloat32, writeSafetensors } from '@patchwork/tensor';

/** A checkpoint of `tensors` float32 tensors of `size` values, filled from a seeded sequence. */
export async function writeToyModel(dir: string, seed: number, tensors = 8, size = 64): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const entries: Record<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }> = {};
  let state = seed >>> 0;
  for (let t = 0; t < tensors; t++) {
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      values[i] = state / 2 ** 32 - 0.5;
    }
    entries[`layers.${String(t).padStart(3, '0')}.weight`] = { dtype: 'F32', shape: [size], data: encodeFloat32(values, 'F32') };
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), entries, { format: 'pt' });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'toy', seed }));
  return dir;
}
