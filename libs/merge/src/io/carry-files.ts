import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Files a model directory carries besides its weights (config, tokenizer), as mergekit copies them. */
export const CARRIED_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'vocab.txt',
  'merges.txt',
  'tokenizer.model',
  'preprocessor_config.json',
];

/** Copies those of CARRIED_FILES that `from` has into `to`; returns the paths written. */
export async function carryModelFiles(from: string, to: string): Promise<string[]> {
  const written: string[] = [];
  for (const name of CARRIED_FILES) {
    try {
      await fs.copyFile(path.join(from, name), path.join(to, name));
      written.push(path.join(to, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return written;
}
