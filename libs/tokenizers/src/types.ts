/** One encoded sequence (or pair), the shape transformers-style models consume. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  attentionMask: number[];
  /** Segment ids: 0 for the first sequence, 1 for the pair, as the post-processor assigns them. */
  typeIds?: number[];
  /**
   * Character offsets into the input. Not produced for loaded tokenizers: the underlying library
   * does not track alignments through normalizers, and UTF-16 offsets would not match the
   * code-point offsets of the Python library anyway.
   */
  offsets?: [number, number][];
}

export interface EncodeOptions {
  /** Adds the post-processor's special tokens ([CLS]/[SEP], <s>, ...). Default true. */
  addSpecialTokens?: boolean;
}

export interface TruncationOptions {
  /** Longest allowed sequence including the special tokens the post-processor adds. */
  maxLength: number;
}

export type PaddingOptions = 'longest' | { length: number };

export interface EncodeBatchOptions extends EncodeOptions {
  /** Right padding with the pad token: to the longest row, or to a fixed length. */
  padding: PaddingOptions;
  /** Right truncation, longest-first for pairs (the Python library's default strategy). */
  truncation?: TruncationOptions;
}

/** A batch ready for a model: rows of equal length, padded on the right. */
export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
  typeIds: number[][];
}

export interface DecodeOptions {
  /** Drops every added token marked `special` (the Python library's default is true). */
  skipSpecialTokens?: boolean;
}

/** Conventional roles of special tokens; see `special-tokens.ts` for how they are found. */
export type SpecialTokenRole = 'pad' | 'unk' | 'bos' | 'eos' | 'cls' | 'sep' | 'mask';

export interface SpecialToken {
  token: string;
  id: number;
}

export type BatchInput = string | readonly [string, string];

export interface Tokenizer {
  /** Size of an embedding table that can index every id (largest id + 1). */
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Partial<Record<SpecialTokenRole, SpecialToken>>>;
  /** Ids of every added token marked special, ascending. */
  readonly allSpecialIds: readonly number[];
  encode(text: string, pair?: string, options?: EncodeOptions): Encoding;
  encodeBatch(inputs: readonly BatchInput[], options: EncodeBatchOptions): BatchEncoding;
  decode(ids: readonly number[], options?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

export interface LoadTokenizerOptions {
  /** Overrides or supplies special-token roles by token content, e.g. `{ pad: '<|endoftext|>' }`. */
  specialTokens?: Partial<Record<SpecialTokenRole, string>>;
}
