/**
 * Character classes of the Rust `tokenizers` crate, for patterns that must split exactly as the
 * Python library does. Its `\s` (Oniguruma's Unicode `\s`, the `regex` crate's `\s` and
 * `char::is_whitespace`) is the White_Space property; JavaScript's `\s` adds U+FEFF (BOM) and omits
 * U+0085 (NEXT LINE). Its `\w` (the `regex` crate) is Unicode-aware; JavaScript's is ASCII-only.
 */
const WS = '\\p{White_Space}';
const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';

const WHITE_SPACE = new RegExp(`^${WS}$`, 'u');

export function isWhiteSpace(char: string): boolean {
  return WHITE_SPACE.test(char);
}

/**
 * GPT-2's pre-tokenization pattern (every ByteLevel pre-tokenizer with `use_regex`), with `\s` as
 * White_Space.
 */
export function gpt2Pattern(): RegExp {
  return new RegExp(`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|${WS}+(?!\\P{White_Space})|${WS}+`, 'gu');
}

/** The `Whitespace` pre-tokenizer's `\w+|[^\w\s]+` with Unicode word characters. */
export function wordsAndPunctuationPattern(): RegExp {
  return new RegExp(`[${WORD}]+|[^${WORD}${WS}]+`, 'gu');
}

/** Maximal runs of non-White_Space characters (`WhitespaceSplit`). */
export function nonWhiteSpaceRunsPattern(): RegExp {
  return /\P{White_Space}+/gu;
}

const ASCII_PUNCTUATION = '!-/:-@\\[-`{-~';

/** BERT's pre-tokenizer: runs of non-space non-punctuation, or single punctuation characters. */
export function bertPattern(): RegExp {
  const punct = `\\p{P}${ASCII_PUNCTUATION}`;
  return new RegExp(`[^${WS}${punct}]+|[${punct}]`, 'gu');
}
