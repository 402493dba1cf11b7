/**
 * The parts of the Hugging Face `tokenizer.json` format this library reads and writes. Components
 * are kept as open records: the loader hands them to @huggingface/tokenizers, which knows them all.
 */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface ComponentJson {
  type: string;
  [key: string]: unknown;
}

export interface TemplateSpecialTokenJson {
  id: string;
  ids: number[];
  tokens: string[];
}

export type TemplatePieceJson =
  | { SpecialToken: { id: string; type_id: number } }
  | { Sequence: { id: 'A' | 'B'; type_id: number } };

export interface TemplateProcessingJson {
  type: 'TemplateProcessing';
  single: TemplatePieceJson[];
  pair: TemplatePieceJson[];
  special_tokens: Record<string, TemplateSpecialTokenJson>;
}

export interface BpeModelJson {
  type: 'BPE';
  dropout: number | null;
  unk_token: string | null;
  continuing_subword_prefix: string | null;
  end_of_word_suffix: string | null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  vocab: Record<string, number>;
  merges: [string, string][];
}

export interface TokenizerJson {
  version: string;
  truncation: unknown;
  padding: unknown;
  added_tokens: AddedTokenJson[];
  normalizer: ComponentJson | null;
  pre_tokenizer: ComponentJson | null;
  post_processor: ComponentJson | null;
  decoder: ComponentJson | null;
  model: ComponentJson;
}
