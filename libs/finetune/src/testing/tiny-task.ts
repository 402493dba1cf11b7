import type { TextTaskSplits } from '@patchwork/datasets';
import { type TensorData, tf, writeSafetensors } from '@patchwork/tensor';
import { type Tokenizer, type TokenizerJson, createTokenizer, trainBpeTokenizer } from '@patchwork/tokenizers';
import { Prng } from '@patchwork/training';
import { mkdir, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { type TinyDims, type TinyFamily, tinyConfig, tinyMlmHead, tinyWeights } from './tiny-models';

const FILLER = ['the', 'ship', 'sea', 'whale', 'men', 'deck', 'wind', 'sail', 'captain', 'crew', 'boat', 'rope', 'storm', 'moon'];

/**
 * A learnable synthetic text task: a few filler words plus one cue word, `great` (label 1) or
 * `awful` (label 0), at a random place. Seeded and small, so a tiny model learns it in a few
 * dozen steps.
 */
export function tinyTextTask(sizes: { train: number; validation: number; test: number } = { train: 96, validation: 32, test: 32 }, seed = 7): TextTaskSplits {
  const rng = Prng.fromSeed(seed);
  const split = (n: number, prefix: string) => {
    const ids: string[] = [];
    const inputs: string[] = [];
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const y = i % 2;
      const words = Array.from({ length: 3 + rng.nextInt(4) }, () => FILLER[rng.nextInt(FILLER.length)]);
      words.splice(rng.nextInt(words.length + 1), 0, y === 1 ? 'great' : 'awful');
      ids.push(`${prefix}:${i}`);
      inputs.push(words.join(' '));
      labels[i] = y;
    }
    return { ids, inputs, labels };
  };
  return {
    name: 'tiny-cue',
    labelNames: ['negative', 'positive'],
    seed,
    fractions: { train: 0.6, validation: 0.2, test: 0.2 },
    inputKind: 'text',
    train: split(sizes.train, 'train'),
    validation: split(sizes.validation, 'validation'),
    test: split(sizes.test, 'test'),
  };
}

const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

function tokenizerFiles(family: 'bert' | 'gpt2'): { json: TokenizerJson; config: Record<string, unknown> } {
  const task = tinyTextTask();
  const corpus = [...task.train.inputs, ...task.validation.inputs, 'it was great', 'it was awful', 'this is great', 'this is awful'];
  const bert = family === 'bert';
  const json = trainBpeTokenizer(corpus, {
    vocabSize: TINY_VOCAB,
    specialTokens: bert ? BERT_SPECIALS : ['<|endoftext|>'],
    byteLevel: true,
    template: bert ? { single: '[CLS] $A [SEP]', pair: '[CLS] $A [SEP] $B:1 [SEP]:1' } : undefined,
  });
  const config = bert ? { pad_token: '[PAD]', unk_token: '[UNK]', cls_token: '[CLS]', sep_token: '[SEP]', mask_token: '[MASK]' } : { eos_token: '<|endoftext|>', bos_token: '<|endoftext|>', unk_token: '<|endoftext|>' };
  return { json, config };
}

export const TINY_VOCAB = 300;

/** The byte-level BPE tokenizer of the tiny models, trained on the synthetic task's texts. */
export async function tinyTokenizer(family: 'bert' | 'gpt2'): Promise<Tokenizer> {
  const { json, config } = tokenizerFiles(family);
  return createTokenizer(json, { tokenizerConfig: config });
}

/**
 * Writes a Hugging Face directory for a randomly initialised tiny model with a byte-level BPE
 * tokenizer trained on the synthetic task (BERT also gets an MLM head), and returns its path.
 */
export async function writeTinyModelDir(dir: string, family: Exclude<TinyFamily, 'vit'>, dims: TinyDims = {}, seed = 1): Promise<string> {
  const bert = family === 'bert';
  const { json, config: tokenizerConfig } = tokenizerFiles(family);
  const vocab = TINY_VOCAB;
  const config = tinyConfig(family, { ...dims, vocab });
  const weights = tinyWeights(family, { ...dims, vocab }, seed);
  if (bert) for (const [k, t] of tinyMlmHead({ ...dims, vocab }, seed + 50)) weights.set(k, t);
  await mkdir(dir, { recursive: true });
  const record: Record<string, TensorData> = {};
  for (const [k, t] of weights) record[k] = { dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array };
  tf.dispose([...weights.values()]);
  await writeSafetensors(nodePath.join(dir, 'model.safetensors'), record, { format: 'pt' });
  await writeFile(nodePath.join(dir, 'config.json'), JSON.stringify(config));
  await writeFile(nodePath.join(dir, 'tokenizer.json'), JSON.stringify(json));
  await writeFile(nodePath.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  return dir;
}
