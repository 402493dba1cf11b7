import { PatchworkError } from '@patchwork/errors';
import { type Tokenizer, type TokenizerJson, createTokenizer, trainBpeTokenizer } from '@patchwork/tokenizers';

/** Special tokens of each text family, in id order (ids 0..n-1). */
export const GPT2_SPECIALS = { eos: '<|endoftext|>' } as const;
export const BERT_SPECIALS = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' } as const;

export interface TrainedTokenizer {
  readonly json: TokenizerJson;
  readonly tokenizer: Tokenizer;
  /** transformers' `tokenizer_config.json` for `PreTrainedTokenizerFast`. */
  readonly config: Record<string, unknown>;
}

/**
 * A byte-level BPE tokenizer trained on `texts` (GPT-2 style: no unknown tokens). The BERT variant
 * carries BERT's special tokens and its `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B:1 [SEP]:1` templates,
 * so sentence-pair tasks get the usual layout and segment ids.
 */
export async function trainTokenizer(family: 'gpt2' | 'bert', texts: readonly string[], vocabSize: number, maxLength: number): Promise<TrainedTokenizer> {
  const json =
    family === 'gpt2'
      ? trainBpeTokenizer(texts, { vocabSize, specialTokens: [GPT2_SPECIALS.eos], byteLevel: true })
      : trainBpeTokenizer(texts, {
          vocabSize,
          specialTokens: Object.values(BERT_SPECIALS),
          byteLevel: true,
          template: { single: '[CLS] $A [SEP]', pair: '[CLS] $A [SEP] $B:1 [SEP]:1' },
        });
  return fromJson(family, json, maxLength);
}

/** Wraps an existing tokenizer.json (an evolved backbone reuses its base's). */
export async function fromJson(family: 'gpt2' | 'bert', json: TokenizerJson, maxLength: number): Promise<TrainedTokenizer> {
  const common = { tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: maxLength, clean_up_tokenization_spaces: false };
  const config =
    family === 'gpt2'
      ? { ...common, bos_token: GPT2_SPECIALS.eos, eos_token: GPT2_SPECIALS.eos, unk_token: GPT2_SPECIALS.eos }
      : { ...common, pad_token: BERT_SPECIALS.pad, unk_token: BERT_SPECIALS.unk, cls_token: BERT_SPECIALS.cls, sep_token: BERT_SPECIALS.sep, mask_token: BERT_SPECIALS.mask };
  const tokenizer = await createTokenizer(json, { tokenizerConfig: config });
  return { json, tokenizer, config };
}

/** Token ids of a document without any special token. */
export function encodePlain(tokenizer: Tokenizer, text: string): number[] {
  return tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids;
}

/** The id of a special token the tokenizer must have. */
export function specialId(tokenizer: Tokenizer, token: string): number {
  const id = tokenizer.tokenToId(token);
  if (id === undefined) throw new PatchworkError('FAILED_PRECONDITION', `tokenizer has no ${token} token`);
  return id;
}
