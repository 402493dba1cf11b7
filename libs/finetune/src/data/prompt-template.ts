import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { Tokenizer } from '@patchwork/tokenizers';
import type { TokenRows } from './encoded-inputs';
import { padId, plainIds, sequenceSpecials, writeRow } from './encode-text';

/** How the label word is predicted: at a mask token (BERT) or as the next token (GPT-2). */
export type PromptStyle = 'masked' | 'causal';

export interface PromptSpec {
  /** Holds `{text}` once and `{mask}` once, e.g. `"{text} It was {mask}."`. */
  readonly template: string;
  /** One word per label, in label order, each a single token of the vocabulary. */
  readonly labelWords: readonly string[];
}

/**
 * An LM-BFF style template and verbalizer bound to one tokenizer. Whitespace right before
 * `{mask}` belongs to the label word: byte-level BPE vocabularies spell a word after a space as
 * one token with the space (`Ġgreat`), which is what masked-LM pre-training replaced by the mask
 * token and what a causal LM predicts next.
 */
export class PromptTemplate {
  private constructor(
    readonly style: PromptStyle,
    private readonly pre: number[],
    private readonly mid: number[],
    private readonly post: number[],
    /** Token id of each label word. */
    readonly labelTokenIds: readonly number[],
    private readonly maskId: number | undefined,
    private readonly specials: { open?: number; close?: number },
    private readonly pad: number,
  ) {}

  static create(spec: PromptSpec, tokenizer: Tokenizer, style: PromptStyle, field = 'prompt'): PromptTemplate {
    const problems = new ViolationCollector();
    const t = spec?.template;
    if (typeof t !== 'string') problems.add(`${field}.template`, 'must be a string holding {text} and {mask}');
    const words = spec?.labelWords;
    if (!Array.isArray(words) || words.length < 2 || words.some((w) => typeof w !== 'string' || w.trim() === '')) {
      problems.add(`${field}.label_words`, 'must list one non-empty word per label (at least two)');
    }
    problems.throwIfAny();
    const count = (s: string) => t.split(s).length - 1;
    if (count('{text}') !== 1) problems.add(`${field}.template`, `must contain {text} exactly once, got ${JSON.stringify(t)}`);
    if (count('{mask}') !== 1) problems.add(`${field}.template`, `must contain {mask} exactly once, got ${JSON.stringify(t)}`);
    problems.throwIfAny();
    const textAt = t.indexOf('{text}');
    const maskAt = t.indexOf('{mask}');
    if (maskAt < textAt) problems.add(`${field}.template`, '{mask} must come after {text}');
    const after = t.slice(maskAt + '{mask}'.length);
    if (style === 'causal' && after.trim() !== '') problems.add(`${field}.template`, `a causal LM predicts the next token, so {mask} must end the template (found ${JSON.stringify(after)} after it)`);
    let maskId: number | undefined;
    if (style === 'masked') {
      maskId = tokenizer.specialTokens.mask?.id;
      if (maskId === undefined) problems.add(field, 'the tokenizer has no mask token, so it cannot fill a masked template');
    }
    problems.throwIfAny();
    const between = t.slice(textAt + '{text}'.length, maskAt);
    const spaced = /\s$/.test(between) || (between === '' && /\s$/.test(t.slice(0, textAt)));
    const encode = (s: string) => (s === '' ? [] : tokenizer.encode(s, undefined, { addSpecialTokens: false }).ids);
    const labelTokenIds: number[] = [];
    words.forEach((w, i) => {
      const ids = encode(spaced ? ` ${w.trim()}` : w.trim());
      if (ids.length !== 1) {
        const pieces = ids.map((id) => tokenizer.idToToken(id)).join(' ');
        problems.add(`${field}.label_words[${i}]`, `${JSON.stringify(w)} is ${ids.length} tokens (${pieces}); label words must be single tokens of the vocabulary`);
      } else labelTokenIds.push(ids[0]);
    });
    if (new Set(labelTokenIds).size !== labelTokenIds.length) problems.add(`${field}.label_words`, 'must be distinct tokens');
    problems.throwIfAny();
    const specials = style === 'masked' ? sequenceSpecials(tokenizer) : {};
    return new PromptTemplate(style, encode(t.slice(0, textAt)), encode(between.replace(/\s+$/, '')), encode(after), labelTokenIds, maskId, specials, padId(tokenizer));
  }

  /** Tokens a row spends on everything but the text. */
  get overhead(): number {
    const s = (this.specials.open === undefined ? 0 : 1) + (this.specials.close === undefined ? 0 : 1);
    return s + this.pre.length + this.mid.length + this.post.length + (this.style === 'masked' ? 1 : 0);
  }

  /** Prompt rows of `texts`, each text cut so the row fits `maxLength`. */
  encode(tokenizer: Tokenizer, texts: readonly string[], maxLength: number): TokenRows {
    const budget = maxLength - this.overhead;
    if (budget < 1) throw new PatchworkError('INVALID_ARGUMENT', `max_length ${maxLength} is too short for the template (${this.overhead} tokens besides the text)`);
    const rows = { ids: new Int32Array(texts.length * maxLength), mask: new Int32Array(texts.length * maxLength) };
    const predictAt = new Int32Array(texts.length);
    texts.forEach((text, r) => {
      const ids: number[] = [];
      if (this.specials.open !== undefined) ids.push(this.specials.open);
      ids.push(...this.pre, ...plainIds(tokenizer, text, budget), ...this.mid);
      if (this.style === 'masked') {
        predictAt[r] = ids.length;
        ids.push(this.maskId as number, ...this.post);
        if (this.specials.close !== undefined) ids.push(this.specials.close);
      } else {
        // An empty prompt still needs one position to predict from.
        if (ids.length === 0) ids.push(this.pad);
        predictAt[r] = ids.length - 1;
      }
      writeRow(rows, r, maxLength, ids, this.pad);
    });
    return { kind: 'tokens', length: maxLength, ...rows, predictAt };
  }
}
