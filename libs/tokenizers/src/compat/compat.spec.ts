import { bertNormalize } from './bert-normalizer';
import { byteFallbackDecodeChain } from './byte-fallback';
import { fuseUnknownRuns } from './fuse-unk';
import { lowercaseByCodePoint } from './lowercase';
import { applySplitBehavior, charPieces, invertPieces, regexPieces } from './split';
import { bertPattern, gpt2Pattern, isWhiteSpace, nonWhiteSpaceRunsPattern, wordsAndPunctuationPattern } from './whitespace';

// Expected values follow the Rust `tokenizers` semantics documented at each definition.
describe('whitespace classes', () => {
  it('treat U+0085 as whitespace and U+FEFF as not, like Oniguruma and Rust', () => {
    expect(isWhiteSpace('\u0085')).toBe(true);
    expect(isWhiteSpace('\uFEFF')).toBe(false);
    expect(isWhiteSpace('\u3000')).toBe(true);
    expect(isWhiteSpace('a')).toBe(false);
  });

  it('GPT-2 pattern keeps a BOM with the punctuation run it starts', () => {
    expect('a \uFEFFb'.match(gpt2Pattern())).toEqual(['a', ' \uFEFF', 'b']);
    expect('a\u0085 b'.match(gpt2Pattern())).toEqual(['a', '\u0085', ' b']);
    expect("I'll  go 42x".match(gpt2Pattern())).toEqual(['I', "'ll", ' ', ' go', ' 42', 'x']);
  });

  it('Whitespace pre-tokenizer treats accented letters as word characters', () => {
    expect('café, naïve!'.match(wordsAndPunctuationPattern())).toEqual(['café', ',', 'naïve', '!']);
    expect('a\u0085b\uFEFFc'.match(nonWhiteSpaceRunsPattern())).toEqual(['a', 'b\uFEFFc']);
  });

  it('BERT pre-tokenizer isolates every punctuation character', () => {
    expect("don't...stop¿".match(bertPattern())).toEqual(['don', "'", 't', '.', '.', '.', 'stop', '¿']);
  });
});

describe('bertNormalize', () => {
  const base = { clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true };

  it('lowercases without the final-sigma rule', () => {
    expect(lowercaseByCodePoint('ΟΔΟΣ')).toBe('οδοσ');
    expect(bertNormalize('ΟΔΟΣ', base)).toBe('οδοσ');
  });

  it('pads astral CJK ideographs as well as BMP ones', () => {
    expect(bertNormalize('a\u{20000}b中', base)).toBe('a \u{20000} b 中 ');
  });

  it('drops controls, format and unassigned code points and maps whitespace to spaces', () => {
    expect(bertNormalize('a\u0000b\uFFFDc\u200Bd\u0001e\tf\u3000g\u{E0000}h', { ...base, lowercase: false })).toBe('abcde f gh');
  });

  it('strips accents when strip_accents is null and lowercase is set, and only then', () => {
    expect(bertNormalize('Ünïcödé', base)).toBe('unicode');
    expect(bertNormalize('Ünïcödé', { ...base, lowercase: false })).toBe('Ünïcödé');
    expect(bertNormalize('Ünïcödé', { ...base, lowercase: false, strip_accents: true })).toBe('Unicode');
    expect(bertNormalize('Ünïcödé', { ...base, strip_accents: false })).toBe('ünïcödé');
  });
});

describe('split behaviors', () => {
  const dash = (text: string) => charPieces(text, (c) => c === '-');

  it('match the five delimiter behaviors of the Rust library', () => {
    expect(applySplitBehavior(dash('the-final--countdown'), 'Removed')).toEqual(['the', 'final', 'countdown']);
    expect(applySplitBehavior(dash('the-final--countdown'), 'Isolated')).toEqual(['the', '-', 'final', '-', '-', 'countdown']);
    expect(applySplitBehavior(dash('the-final--countdown'), 'MergedWithPrevious')).toEqual(['the-', 'final-', '-', 'countdown']);
    expect(applySplitBehavior(dash('the-final--countdown'), 'MergedWithNext')).toEqual(['the', '-final', '-', '-countdown']);
    expect(applySplitBehavior(dash('the-final--countdown'), 'Contiguous')).toEqual(['the', '-', 'final', '--', 'countdown']);
  });

  it('handles delimiters at the edges and empty input', () => {
    expect(applySplitBehavior(dash('-a-'), 'MergedWithPrevious')).toEqual(['-', 'a-']);
    expect(applySplitBehavior(dash('-a-'), 'MergedWithNext')).toEqual(['-a', '-']);
    expect(applySplitBehavior(dash(''), 'Isolated')).toEqual([]);
  });

  it('inverts regex pieces so that the matches are kept as words', () => {
    const pieces = regexPieces('ab12cd', /\d+/gu);
    expect(pieces).toEqual([
      { text: 'ab', isMatch: false },
      { text: '12', isMatch: true },
      { text: 'cd', isMatch: false },
    ]);
    expect(applySplitBehavior(invertPieces(pieces), 'Removed')).toEqual(['12']);
  });
});

describe('byteFallbackDecodeChain', () => {
  it('decodes valid byte runs and turns each byte of an invalid run into U+FFFD', () => {
    expect(byteFallbackDecodeChain(['a', '<0xF0>', '<0x9F>', '<0x90>', '<0x8B>', 'b'])).toEqual(['a', '🐋', 'b']);
    expect(byteFallbackDecodeChain(['<0xE2>', '<0x80>', 'x'])).toEqual(['\uFFFD\uFFFD', 'x']);
    expect(byteFallbackDecodeChain(['<0x41>', '<0xC3>'])).toEqual(['\uFFFD\uFFFD']);
  });
});

describe('fuseUnknownRuns', () => {
  it('fuses consecutive unknowns inside a word but not across words', () => {
    const model = (word: string) => Array.from(word, (c) => (c === 'x' ? '<unk>' : c));
    expect(fuseUnknownRuns(model, '<unk>')(['axxb', 'xx', 'x'])).toEqual(['a', '<unk>', 'b', '<unk>', '<unk>']);
  });
});
