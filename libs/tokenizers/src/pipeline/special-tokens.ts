import { PatchworkError } from '@patchwork/errors';
import type { SpecialToken, SpecialTokenRole } from '../types';

export const SPECIAL_TOKEN_ROLES: readonly SpecialTokenRole[] = ['pad', 'unk', 'bos', 'eos', 'cls', 'sep', 'mask'];

/**
 * Contents that conventionally play each role (BERT, RoBERTa/Llama/T5, GPT-2). GPT-2 has one special
 * token, which transformers uses as its bos, eos and unk token, and no pad token.
 */
const CONVENTIONS: Record<SpecialTokenRole, readonly string[]> = {
  pad: ['[PAD]', '<pad>', '<|pad|>'],
  unk: ['[UNK]', '<unk>', '<|endoftext|>'],
  bos: ['<s>', '<|begin_of_text|>', '<|startoftext|>', '<|endoftext|>'],
  eos: ['</s>', '<|end_of_text|>', '<|endoftext|>'],
  cls: ['[CLS]', '<s>'],
  sep: ['[SEP]', '</s>'],
  mask: ['[MASK]', '<mask>'],
};

export interface SpecialTokenSources {
  /** Explicit choices of the caller (highest priority). */
  overrides?: Partial<Record<SpecialTokenRole, string>>;
  /** `tokenizer_config.json`, where transformers records `pad_token`, `eos_token`, ... */
  tokenizerConfig?: Record<string, unknown>;
  /** Roles stated inside `tokenizer.json` itself (padding.pad_token, model.unk_token). */
  declared?: Partial<Record<SpecialTokenRole, string>>;
  /** Contents of the added tokens marked special, in id order. */
  specialContents: readonly string[];
  tokenToId(token: string): number | undefined;
}

function configToken(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/**
 * Resolves each role by priority: caller override, tokenizer_config.json, tokenizer.json's own
 * declarations, then the conventional contents among the added special tokens.
 */
export function resolveSpecialTokens(sources: SpecialTokenSources): Partial<Record<SpecialTokenRole, SpecialToken>> {
  const out: Partial<Record<SpecialTokenRole, SpecialToken>> = {};
  const specials = new Set(sources.specialContents);
  for (const role of SPECIAL_TOKEN_ROLES) {
    const override = sources.overrides?.[role];
    if (override !== undefined) {
      const id = sources.tokenToId(override);
      if (id === undefined) {
        throw new PatchworkError('INVALID_ARGUMENT', `specialTokens.${role}: "${override}" is not in the vocabulary`, {
          violations: [{ field: `specialTokens.${role}`, description: 'not in the vocabulary' }],
        });
      }
      out[role] = { token: override, id };
      continue;
    }
    const candidates = [
      configToken(sources.tokenizerConfig?.[`${role}_token`]),
      sources.declared?.[role],
      ...CONVENTIONS[role].filter((c) => specials.has(c)),
    ];
    for (const token of candidates) {
      const id = token === undefined ? undefined : sources.tokenToId(token);
      if (token !== undefined && id !== undefined) {
        out[role] = { token, id };
        break;
      }
    }
  }
  return out;
}
