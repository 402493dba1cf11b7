export { loadTokenizer, createTokenizer } from './load';
export type { CreateTokenizerOptions } from './load';
export { trainBpeTokenizer } from './train/train-bpe';
export type { TrainBpeOptions } from './train/train-bpe';
export type {
  BatchEncoding,
  BatchInput,
  DecodeOptions,
  EncodeBatchOptions,
  EncodeOptions,
  Encoding,
  LoadTokenizerOptions,
  PaddingOptions,
  SpecialToken,
  SpecialTokenRole,
  Tokenizer,
  TruncationOptions,
} from './types';
export type { AddedTokenJson, BpeModelJson, ComponentJson, TemplateProcessingJson, TokenizerJson } from './tokenizer-json';
