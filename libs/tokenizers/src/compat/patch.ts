import type { Hf, HfDecoder, HfNormalizer, HfPreTokenizer, HfTokenizer } from '../hf';
import { bertNormalize, type BertNormalizerConfig } from './bert-normalizer';
import { byteFallbackDecodeChain } from './byte-fallback';
import { fuseUnknownRuns } from './fuse-unk';
import { lowercaseByCodePoint } from './lowercase';
import { applySplitBehavior, charPieces, invertPieces, parseSplitBehavior, regexPieces } from './split';
import { bertPattern, gpt2Pattern, nonWhiteSpaceRunsPattern, wordsAndPunctuationPattern } from './whitespace';

type Json = Record<string, unknown>;

// Instances are told apart by class, without type narrowing: several of these classes share one
// structural type, so `instanceof` narrowing would erase the alternatives.
function kindOf<K extends string>(value: object, classes: Record<K, abstract new (...args: never[]) => unknown>): K | undefined {
  return (Object.keys(classes) as K[]).find((k) => value instanceof classes[k]);
}

function patchNormalizer(hf: Hf, normalizer: HfNormalizer | null): void {
  if (normalizer === null) return;
  switch (kindOf(normalizer, { sequence: hf.SequenceNormalizer, bert: hf.BertNormalizer, lowercase: hf.LowercaseNormalizer })) {
    case 'sequence':
      for (const inner of (normalizer as HfNormalizer & { normalizers: (HfNormalizer | null)[] }).normalizers) patchNormalizer(hf, inner);
      break;
    case 'bert': {
      const config = (normalizer as HfNormalizer & { config: BertNormalizerConfig }).config;
      normalizer.normalize = (text: string) => bertNormalize(text, config);
      break;
    }
    case 'lowercase':
      normalizer.normalize = lowercaseByCodePoint;
      break;
  }
}

const NUMERIC = /^\p{N}$/u;
const BERT_PUNCTUATION = /^[\p{P}!-/:-@[-`{-~]$/u;
const isNumeric = (c: string): boolean => NUMERIC.test(c);
const isBertPunctuation = (c: string): boolean => BERT_PUNCTUATION.test(c);

function matchAll(pattern: RegExp): (text: string) => string[] {
  return (text) => text.match(pattern) ?? [];
}

// `json` is the component's own configuration: not every JavaScript component keeps it.
function patchPreTokenizer(hf: Hf, preTokenizer: HfPreTokenizer | null, json: Json): void {
  if (preTokenizer === null) return;
  const kind = kindOf(preTokenizer, {
    sequence: hf.SequencePreTokenizer,
    byteLevel: hf.ByteLevelPreTokenizer,
    bert: hf.BertPreTokenizer,
    whitespace: hf.WhitespacePreTokenizer,
    whitespaceSplit: hf.WhitespaceSplitPreTokenizer,
    split: hf.SplitPreTokenizer,
    punctuation: hf.PunctuationPreTokenizer,
    digits: hf.DigitsPreTokenizer,
    metaspace: hf.MetaspacePreTokenizer,
  });
  switch (kind) {
    case 'sequence': {
      const inner = (json.pretokenizers ?? []) as Json[];
      const children = (preTokenizer as HfPreTokenizer & { tokenizers: (HfPreTokenizer | null)[] }).tokenizers;
      children.forEach((p, i) => patchPreTokenizer(hf, p, inner[i] ?? {}));
      break;
    }
    case 'byteLevel':
      (preTokenizer as HfPreTokenizer & { pattern: RegExp }).pattern = gpt2Pattern();
      break;
    case 'bert':
      preTokenizer.pre_tokenize_text = matchAll(bertPattern());
      break;
    case 'whitespace':
      preTokenizer.pre_tokenize_text = matchAll(wordsAndPunctuationPattern());
      break;
    case 'whitespaceSplit':
      preTokenizer.pre_tokenize_text = matchAll(nonWhiteSpaceRunsPattern());
      break;
    case 'split': {
      const pattern = (preTokenizer as HfPreTokenizer & { pattern: RegExp | null }).pattern;
      const behavior = parseSplitBehavior(json.behavior, 'Isolated') ?? 'Isolated';
      const invert = json.invert === true;
      preTokenizer.pre_tokenize_text = (text: string) => {
        if (pattern === null) return [text];
        const pieces = regexPieces(text, pattern);
        return applySplitBehavior(invert ? invertPieces(pieces) : pieces, behavior);
      };
      break;
    }
    case 'punctuation': {
      const behavior = parseSplitBehavior(json.behavior, 'Isolated') ?? 'Isolated';
      preTokenizer.pre_tokenize_text = (text: string) => applySplitBehavior(charPieces(text, isBertPunctuation), behavior);
      break;
    }
    case 'digits': {
      const behavior = json.individual_digits === true ? 'Isolated' : 'Contiguous';
      preTokenizer.pre_tokenize_text = (text: string) => applySplitBehavior(charPieces(text, isNumeric), behavior);
      break;
    }
    case 'metaspace': {
      if (json.split === false) break;
      // The Rust pre-tokenizer splits before every replacement character; the JavaScript one keeps
      // the whole text as one word, which lets Unigram (and BPE caches) see across word boundaries.
      const replacement = typeof json.replacement === 'string' ? json.replacement : '\u2581';
      const original = preTokenizer.pre_tokenize_text.bind(preTokenizer);
      preTokenizer.pre_tokenize_text = (text: string, options?: unknown) =>
        original(text, options).flatMap((word) => applySplitBehavior(charPieces(word, (c) => c === replacement), 'MergedWithNext'));
      break;
    }
  }
}

function patchDecoder(hf: Hf, decoder: HfDecoder | null): void {
  if (decoder === null) return;
  switch (kindOf(decoder, { sequence: hf.SequenceDecoder, byteFallback: hf.ByteFallbackDecoder })) {
    case 'sequence':
      for (const inner of (decoder as HfDecoder & { decoders: HfDecoder[] }).decoders) patchDecoder(hf, inner);
      break;
    case 'byteFallback':
      decoder.decode_chain = byteFallbackDecodeChain;
      break;
  }
}

function patchModel(hf: Hf, tokenizer: HfTokenizer, modelJson: Json): void {
  const model = tokenizer.model;
  const unk = modelJson.unk_token;
  if (model instanceof hf.BPE && modelJson.fuse_unk === true && typeof unk === 'string') {
    const encodeOne = model.encode.bind(model);
    model.encode = fuseUnknownRuns((word) => encodeOne([word]), unk);
  }
}

/**
 * Brings a tokenizer built by @huggingface/tokenizers in line with the Python library where the
 * JavaScript implementation is known to differ (each fix is documented at its definition).
 */
export function applyCompatibilityFixes(
  hf: Hf,
  tokenizer: HfTokenizer,
  json: { pre_tokenizer: Json | null; model: Json },
): void {
  patchNormalizer(hf, tokenizer.normalizer);
  patchPreTokenizer(hf, tokenizer.pre_tokenizer, json.pre_tokenizer ?? {});
  patchDecoder(hf, tokenizer.decoder);
  patchModel(hf, tokenizer, json.model);
}
