import { type TensorData, tf, writeSafetensors } from '@patchwork/tensor';
import { writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';

export const MODEL_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

/** JSON the way Hugging Face writes it: two-space indent, trailing newline, keys in the given order. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Writes `model.safetensors` with the tensors in the given order and the `{"format": "pt"}`
 * metadata transformers checks for, so the same weights always give the same bytes.
 */
export async function writeWeights(dir: string, weights: ReadonlyMap<string, tf.Tensor>): Promise<void> {
  const record: Record<string, TensorData> = {};
  for (const [key, t] of weights) record[key] = { dtype: 'F32', shape: [...t.shape], data: (await t.data()) as Float32Array };
  await writeSafetensors(nodePath.join(dir, MODEL_FILE), record, { format: 'pt' });
}

/** Writes each `files` entry (name -> JSON value) into `dir`. */
export async function writeJsonFiles(dir: string, files: Readonly<Record<string, unknown>>): Promise<void> {
  for (const [name, value] of Object.entries(files)) await writeFile(nodePath.join(dir, name), jsonText(value));
}
