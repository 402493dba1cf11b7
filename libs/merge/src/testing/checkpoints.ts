/** Spec-only helpers (not exported from the package): small checkpoints on disk. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Checkpoint, writeSafetensors } from '@patchwork/tensor';

export interface TensorPart {
  name: string;
  shape: number[];
}

/** Writes `model.safetensors` with float32 tensors cut, in order, from one flat vector. */
export async function writeSplitModel(dir: string, parts: TensorPart[], flat: Float32Array): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  let offset = 0;
  for (const { name, shape } of parts) {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors[name] = { dtype: 'F32', shape, data: flat.slice(offset, offset + size) };
    offset += size;
  }
  if (offset !== flat.length) throw new Error(`parts cover ${offset} of ${flat.length} elements`);
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

/** Reads the tensors of `parts` back from a checkpoint and concatenates them in that order. */
export async function readSplitModel(dir: string, parts: TensorPart[]): Promise<Float32Array> {
  const ckpt = await Checkpoint.open(dir);
  try {
    const chunks: Float32Array[] = [];
    for (const { name } of parts) chunks.push(await ckpt.readFloat32(name));
    const out = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  } finally {
    await ckpt.close();
  }
}
