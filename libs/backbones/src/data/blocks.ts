import { invalidArgument } from '@patchwork/errors';

/** Fixed-length token blocks, stored row-major in one array. */
export interface TokenBlocks {
  readonly length: number;
  readonly count: number;
  readonly ids: Int32Array;
}

/** Row `i` of `blocks` (a view, not a copy). */
export function blockAt(blocks: TokenBlocks, i: number): Int32Array {
  return blocks.ids.subarray(i * blocks.length, (i + 1) * blocks.length);
}

/** The rows `indices` of `blocks`, concatenated (a batch). */
export function gatherBlocks(blocks: TokenBlocks, indices: readonly number[]): Int32Array {
  const out = new Int32Array(indices.length * blocks.length);
  indices.forEach((row, i) => out.set(blockAt(blocks, row), i * blocks.length));
  return out;
}

export interface PackOptions {
  /** Tokens per block, wrapper tokens included. */
  readonly length: number;
  /** Appended after every document (GPT-2's `<|endoftext|>`, BERT's [SEP]). */
  readonly separator?: number;
  /** Put before / after each block's content ([CLS] and [SEP] for BERT). */
  readonly prefix?: number;
  readonly suffix?: number;
}

/**
 * The standard pre-training packing (transformers' `group_texts`): documents are concatenated into
 * one stream, each followed by `separator`, and the stream is cut into blocks of equal length; the
 * tail that does not fill a block is dropped. Every block is full, so no padding is needed.
 */
export function packBlocks(documents: Iterable<readonly number[]>, options: PackOptions): TokenBlocks {
  const wrap = (options.prefix === undefined ? 0 : 1) + (options.suffix === undefined ? 0 : 1);
  const content = options.length - wrap;
  if (!Number.isInteger(options.length) || content < 1) throw invalidArgument('length', `must leave room for content after ${wrap} wrapper token(s), got ${options.length}`);
  const stream: number[] = [];
  for (const doc of documents) {
    for (const id of doc) stream.push(id);
    if (options.separator !== undefined) stream.push(options.separator);
  }
  const count = Math.floor(stream.length / content);
  const ids = new Int32Array(count * options.length);
  for (let b = 0; b < count; b++) {
    let o = b * options.length;
    if (options.prefix !== undefined) ids[o++] = options.prefix;
    for (let i = 0; i < content; i++) ids[o++] = stream[b * content + i];
    if (options.suffix !== undefined) ids[o++] = options.suffix;
  }
  return { length: options.length, count, ids };
}
