import { type ImageTaskSplits, SPLIT_NAMES, type SplitName, type TextTaskSplits, deriveSeed, loadTask, mulberry32, shuffleInPlace, textCorpus } from '@patchwork/datasets';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { RawConfig } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type Tokenizer, loadTokenizer } from '@patchwork/tokenizers';
import * as nodePath from 'node:path';
import { type DistillDataset, tensorDataset } from './dataset';
import { type DistillSource, type TaskTermKind, assertKnownVocabulary, checkDistillData, taskTermFor, usablePositions } from './data-source';

export interface NamedDataOptions {
  /** Tokens per row for text models; default min(the model's positions, 128). */
  readonly maxLength?: number;
  /** Most rows kept (a seeded subset of a task; the first blocks of a corpus). Default 2048. */
  readonly maxExamples?: number;
  /** Seed of the datasets library's partition and of the subset. Default 0. */
  readonly seed?: number;
  /** Which split of the corpus or task; default `train` (the others serve evaluation). */
  readonly split?: SplitName;
}

/** What a named set turned into, for the report. */
export interface DistillDataInfo {
  readonly name: string;
  readonly kind: 'corpus' | 'task';
  readonly split: SplitName;
  /** Rows (token blocks, texts or images) used. */
  readonly examples: number;
  /** Tokens per row; null for images. */
  readonly length: number | null;
  readonly taskTerm: TaskTermKind;
}

export const NAMED_DATA_DEFAULTS = { maxLength: 128, maxExamples: 2048, seed: 0, split: 'train' as SplitName };

const FIELD = 'distill.data';

function resolveOptions(options: NamedDataOptions, config: RawConfig): { maxLength: number; maxExamples: number; seed: number; split: SplitName } {
  const positions = usablePositions(config);
  const maxLength = options.maxLength ?? Math.min(positions ?? NAMED_DATA_DEFAULTS.maxLength, NAMED_DATA_DEFAULTS.maxLength);
  const maxExamples = options.maxExamples ?? NAMED_DATA_DEFAULTS.maxExamples;
  const seed = options.seed ?? NAMED_DATA_DEFAULTS.seed;
  const split = options.split ?? NAMED_DATA_DEFAULTS.split;
  const problems = new ViolationCollector();
  if (!Number.isSafeInteger(maxLength) || maxLength < 4) problems.add(`${FIELD}.maxLength`, `must be an integer >= 4, got ${String(maxLength)}`);
  else if (positions !== undefined && maxLength > positions) problems.add(`${FIELD}.maxLength`, `${maxLength} exceeds the model's ${positions} positions`);
  if (!Number.isSafeInteger(maxExamples) || maxExamples < 1) problems.add(`${FIELD}.maxExamples`, `must be a positive integer, got ${String(maxExamples)}`);
  if (!Number.isSafeInteger(seed) || seed < 0) problems.add(`${FIELD}.seed`, `must be a non-negative integer, got ${String(seed)}`);
  if (!SPLIT_NAMES.includes(split)) problems.add(`${FIELD}.split`, `must be one of ${SPLIT_NAMES.join(', ')}, got ${JSON.stringify(split)}`);
  problems.throwIfAny();
  return { maxLength, maxExamples, seed, split };
}

/** [CLS]/[SEP] (BERT, RoBERTa's <s>/</s>) when the tokenizer has both; GPT-2 and Llama frame nothing. */
function framing(tokenizer: Tokenizer): { open?: number; close?: number; separator?: number; pad: number } {
  const s = tokenizer.specialTokens;
  const open = s.cls?.id;
  const close = s.sep?.id;
  const framed = open !== undefined && close !== undefined;
  return { open: framed ? open : undefined, close: framed ? close : undefined, separator: framed ? close : s.eos?.id, pad: s.pad?.id ?? s.eos?.id ?? 0 };
}

/** Ids of `text` without special tokens, at most `max` of them, tokenizing only a prefix when it is long. */
function leadingIds(tokenizer: Tokenizer, text: string, max: number): number[] {
  for (let chars = max * 8; ; chars *= 2) {
    const clipped = text.length > chars;
    const ids = tokenizer.encode(clipped ? text.slice(0, chars) : text, undefined, { addSpecialTokens: false }).ids;
    // Two spare tokens: the cut through the last word cannot reach the kept ones.
    if (!clipped || ids.length >= max + 2) return ids.slice(0, max);
  }
}

/**
 * Pre-training blocks (transformers' `group_texts`): documents in the corpus' seeded order,
 * each followed by the separator, concatenated and cut into full rows of `length` (framed by
 * [CLS] … [SEP] where the vocabulary has them). No padding, so the attention mask is all ones.
 */
function corpusBlocks(tokenizer: Tokenizer, documents: readonly string[], length: number, rows: number): { ids: Int32Array; count: number } {
  const f = framing(tokenizer);
  const content = length - (f.open === undefined ? 0 : 2);
  const stream: number[] = [];
  for (const doc of documents) {
    if (stream.length >= rows * content) break;
    stream.push(...leadingIds(tokenizer, doc, rows * content - stream.length));
    if (f.separator !== undefined) stream.push(f.separator);
  }
  const count = Math.min(rows, Math.floor(stream.length / content));
  const ids = new Int32Array(count * length);
  for (let b = 0; b < count; b++) {
    const row = [...(f.open === undefined ? [] : [f.open]), ...stream.slice(b * content, (b + 1) * content), ...(f.close === undefined ? [] : [f.close])];
    ids.set(row, b * length);
  }
  return { ids, count };
}

/** One row per text, framed like a classifier input, cut to `length` and right-padded. */
function textRows(tokenizer: Tokenizer, texts: readonly string[], length: number): { ids: Int32Array; mask: Int32Array } {
  const f = framing(tokenizer);
  const frame = f.open === undefined ? 0 : 2;
  const ids = new Int32Array(texts.length * length).fill(f.pad);
  const mask = new Int32Array(texts.length * length);
  texts.forEach((text, r) => {
    const row = [...(f.open === undefined ? [] : [f.open]), ...leadingIds(tokenizer, text, length - frame), ...(f.close === undefined ? [] : [f.close])];
    ids.set(row, r * length);
    mask.fill(1, r * length, r * length + row.length);
  });
  return { ids, mask };
}

function seededSubset(n: number, max: number, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  return n <= max ? all : shuffleInPlace(all, mulberry32(deriveSeed(seed, 'compress.distill-subset'))).slice(0, max);
}

async function tokenizerOf(modelDir: string, config: RawConfig): Promise<Tokenizer> {
  const file = nodePath.join(modelDir, 'tokenizer.json');
  let tokenizer: Tokenizer;
  try {
    tokenizer = await loadTokenizer(file);
  } catch (e) {
    throw new PatchworkError('FAILED_PRECONDITION', `a text data set needs the model's tokenizer: ${PatchworkError.from(e).message}`, { cause: e });
  }
  assertKnownVocabulary(config, tokenizer.vocabSize, file);
  return tokenizer;
}

/**
 * A named corpus or task of @patchwork/datasets prepared for the model in `modelDir` (its
 * `config`): a text corpus becomes full token blocks for LM-style pre-training; a text task, one
 * padded row per text; an image task, its images with the model's channel count (of the train
 * split unless `options.split` says otherwise). Labels go along only when the task term can use them (see `taskTermFor`). The
 * caller disposes the dataset.
 */
export async function namedDistillDataset(name: string, modelDir: string, config: RawConfig, options: NamedDataOptions = {}): Promise<DistillDataset & { dispose(): void; info: DistillDataInfo }> {
  const source: DistillSource = checkDistillData(name, config);
  const { maxLength, maxExamples, seed, split } = resolveOptions(options, config);
  const taskTerm = taskTermFor(source, config);
  const info = (examples: number, length: number | null): DistillDataInfo => ({ name, kind: source.kind, split, examples, length, taskTerm });

  if (source.kind === 'corpus') {
    const tokenizer = await tokenizerOf(modelDir, config);
    const { ids, count } = corpusBlocks(tokenizer, textCorpus(source.name, { split, seed }), maxLength, maxExamples);
    if (count === 0) throw new PatchworkError('FAILED_PRECONDITION', `${name} yields no full block of ${maxLength} tokens`);
    const dataset = tensorDataset({ inputIds: tf.tensor2d(ids, [count, maxLength], 'int32'), attentionMask: tf.ones([count, maxLength], 'int32') });
    return Object.assign(dataset, { info: info(count, maxLength) });
  }

  const splits = loadTask(name, { seed });
  const part = splits[split];
  const rows = seededSubset(part.labels.length, maxExamples, seed);
  if (rows.length === 0) throw new PatchworkError('FAILED_PRECONDITION', `${name} has no ${split} examples`);
  const labelsOf = (): tf.Tensor | undefined => (taskTerm === 'classification' ? tf.tensor1d(Int32Array.from(rows, (r) => part.labels[r]), 'int32') : undefined);
  if (splits.inputKind === 'text') {
    const tokenizer = await tokenizerOf(modelDir, config);
    const { ids, mask } = textRows(tokenizer, rows.map((r) => (part as TextTaskSplits['train']).inputs[r]), maxLength);
    const dataset = tensorDataset({ inputIds: tf.tensor2d(ids, [rows.length, maxLength], 'int32'), attentionMask: tf.tensor2d(mask, [rows.length, maxLength], 'int32'), labels: labelsOf() });
    return Object.assign(dataset, { info: info(rows.length, maxLength) });
  }
  const [h, w] = (splits as ImageTaskSplits).imageShape;
  const channels = Number(config['num_channels'] ?? 3);
  const pixels = new Float32Array(rows.length * channels * h * w);
  rows.forEach((r, i) => {
    for (let c = 0; c < channels; c++) pixels.set((part as ImageTaskSplits['train']).inputs[r], (i * channels + c) * h * w);
  });
  const dataset = tensorDataset({ pixelValues: tf.tensor4d(pixels, [rows.length, channels, h, w]), labels: labelsOf() });
  return Object.assign(dataset, { info: info(rows.length, null) });
}
