import { tinyGpt2 } from '@patchwork/evaluate/src/testing/tiny-models';
import type { Model } from '@patchwork/models';
import { writeSafetensors } from '@patchwork/tensor';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { FIXTURES } from './fixtures';

export { saveTinyVit } from '@patchwork/evaluate/src/testing/tiny-models';

/** The peer byte-level BPE tokenizer (600 tokens, `<|endoftext|>`) and WordPiece one (450, [CLS]/[SEP]/[PAD]). */
export const BPE_TOKENIZER = nodePath.join(FIXTURES, 'peer/tokenizers/bpe-bytelevel');
export const WORDPIECE_TOKENIZER = nodePath.join(FIXTURES, 'peer/tokenizers/wordpiece');

/** Writes `model` in the Hugging Face layout, with a tokenizer.json copied from `tokenizerDir`. */
export async function saveModelDir(dir: string, model: Model, tokenizerDir?: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [key, t] of model.weights) tensors[key] = { dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array };
  await writeSafetensors(nodePath.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFile(nodePath.join(dir, 'config.json'), JSON.stringify(model.config));
  if (tokenizerDir !== undefined) await copyFile(nodePath.join(tokenizerDir, 'tokenizer.json'), nodePath.join(dir, 'tokenizer.json'));
  return dir;
}

/** A random 2-layer GPT-2 (width 16, 32 positions) over the peer BPE tokenizer, saved to `dir`. */
export async function saveTinyGpt2(dir: string, seed = 1): Promise<string> {
  const model = tinyGpt2(600, 32, seed);
  try {
    return await saveModelDir(dir, model, BPE_TOKENIZER);
  } finally {
    model.dispose();
  }
}
