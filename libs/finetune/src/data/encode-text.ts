import { PatchworkError } from '@patchwork/errors';
import type { Tokenizer } from '@patchwork/tokenizers';
import type { TokenRows } from './encoded-inputs';

/**
 * Characters tokenized first when cutting a text to `maxTokens` (grown until enough): tokenizing
 * only a prefix saves the time of tokenizing whole mails or speeches that are cut anyway.
 */
export const CHARS_PER_TOKEN_GUESS = 6;

/**
 * Ids of `text` without special tokens, cut to at most `maxTokens`: the same ids as tokenizing
 * the whole text and cutting. A prefix of the text is tokenized; it is accepted once it yields
 * two tokens more than needed, so the cut through the last word cannot reach the kept tokens.
 */
export function plainIds(tokenizer: Tokenizer, text: string, maxTokens: number): number[] {
  if (maxTokens <= 0) return [];
  for (let chars = maxTokens * CHARS_PER_TOKEN_GUESS; ; chars *= 2) {
    const clipped = text.length > chars;
    const ids = tokenizer.encode(clipped ? text.slice(0, chars) : text, undefined, { addSpecialTokens: false }).ids;
    if (!clipped || ids.length >= maxTokens + 2) return ids.slice(0, maxTokens);
  }
}

/** `[CLS]`/`[SEP]` (or `<s>`/`</s>`) when the tokenizer has them; a GPT-2 tokenizer has neither. */
export function sequenceSpecials(tokenizer: Tokenizer): { open?: number; close?: number } {
  const cls = tokenizer.specialTokens.cls?.id;
  const sep = tokenizer.specialTokens.sep?.id;
  return cls !== undefined && sep !== undefined ? { open: cls, close: sep } : {};
}

export function padId(tokenizer: Tokenizer): number {
  return tokenizer.specialTokens.pad?.id ?? tokenizer.specialTokens.eos?.id ?? 0;
}

/** Writes one row of ids, right-padded to `length`, into `rows` at row `r`. */
export function writeRow(rows: { ids: Int32Array; mask: Int32Array }, r: number, length: number, ids: readonly number[], pad: number): void {
  if (ids.length > length) throw new PatchworkError('INTERNAL', `row of ${ids.length} tokens exceeds length ${length}`);
  for (let j = 0; j < length; j++) {
    rows.ids[r * length + j] = j < ids.length ? ids[j] : pad;
    rows.mask[r * length + j] = j < ids.length ? 1 : 0;
  }
}

/**
 * Classification rows as the model's tokenizer frames a single sequence (`[CLS] text [SEP]` for
 * BERT-style vocabularies, the bare text for GPT-2), truncated on the right to `maxLength`.
 */
export function encodeTexts(tokenizer: Tokenizer, texts: readonly string[], maxLength: number): TokenRows {
  const { open, close } = sequenceSpecials(tokenizer);
  const frame = (open === undefined ? 0 : 1) + (close === undefined ? 0 : 1);
  if (maxLength <= frame) throw new PatchworkError('INVALID_ARGUMENT', `max_length ${maxLength} leaves no room for text`);
  const pad = padId(tokenizer);
  const rows = { ids: new Int32Array(texts.length * maxLength), mask: new Int32Array(texts.length * maxLength) };
  texts.forEach((text, r) => {
    const body = plainIds(tokenizer, text, maxLength - frame);
    writeRow(rows, r, maxLength, [...(open === undefined ? [] : [open]), ...body, ...(close === undefined ? [] : [close])], pad);
  });
  return { kind: 'tokens', length: maxLength, ...rows };
}
