/**
 * The surface of @huggingface/tokenizers this library uses. Declared here because the package's own
 * declarations use extensionless relative re-exports, which TypeScript's node16 resolution cannot
 * follow (most of its exports would type as `any`).
 */
export interface HfNormalizer {
  normalize(text: string): string;
}

export interface HfPreTokenizer {
  pre_tokenize_text(text: string, options?: unknown): string[];
}

export interface HfDecoder {
  decode_chain(tokens: string[]): string[];
}

export interface HfModel {
  encode(tokens: string[]): string[];
}

export interface HfTokenizer {
  normalizer: HfNormalizer | null;
  pre_tokenizer: HfPreTokenizer | null;
  model: HfModel;
  decoder: HfDecoder | null;
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[]; tokens: string[] };
  decode(ids: number[], options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
}

type Ctor<T> = abstract new (...args: never[]) => T;

export interface Hf {
  Tokenizer: new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer;
  SequenceNormalizer: Ctor<HfNormalizer & { normalizers: (HfNormalizer | null)[] }>;
  BertNormalizer: Ctor<HfNormalizer & { config: unknown }>;
  LowercaseNormalizer: Ctor<HfNormalizer>;
  SequencePreTokenizer: Ctor<HfPreTokenizer & { tokenizers: (HfPreTokenizer | null)[] }>;
  ByteLevelPreTokenizer: Ctor<HfPreTokenizer & { pattern: RegExp }>;
  BertPreTokenizer: Ctor<HfPreTokenizer>;
  WhitespacePreTokenizer: Ctor<HfPreTokenizer>;
  WhitespaceSplitPreTokenizer: Ctor<HfPreTokenizer>;
  SplitPreTokenizer: Ctor<HfPreTokenizer & { pattern: RegExp | null }>;
  PunctuationPreTokenizer: Ctor<HfPreTokenizer>;
  DigitsPreTokenizer: Ctor<HfPreTokenizer>;
  MetaspacePreTokenizer: Ctor<HfPreTokenizer>;
  SequenceDecoder: Ctor<HfDecoder & { decoders: HfDecoder[] }>;
  ByteFallbackDecoder: Ctor<HfDecoder>;
  BPE: Ctor<HfModel>;
}

let loading: Promise<Hf> | undefined;

/**
 * Loads the library once per process. It is an ES module (with a CommonJS build that Node's
 * `require` condition selects); `import()` works from our CommonJS sources either way.
 */
export function loadHf(): Promise<Hf> {
  loading ??= import('@huggingface/tokenizers').then((m) => m as unknown as Hf);
  return loading;
}
