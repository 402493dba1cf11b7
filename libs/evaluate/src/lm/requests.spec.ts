import * as path from 'node:path';
import fc from 'fast-check';
import { type Tokenizer, loadTokenizer } from '@patchwork/tokenizers';
import { PEER_TOKENIZERS } from '../testing/tiny-models';
import { encodePair, endOfTextId, modelInput, rollingWindows } from './requests';
import { countBytes, countWords, pythonRstrip } from './text-units';

describe('rollingWindows (lm-eval get_rolling_token_windows + make_disjoint_window, context_len 1)', () => {
  it('matches a hand-worked example', () => {
    // tokens 10..16, window 3, prefix 0: predicted pieces [10,11,12] [13,14,15] [16].
    expect(rollingWindows([10, 11, 12, 13, 14, 15, 16], 0, 3)).toEqual([
      { context: [0], continuation: [10, 11, 12] },
      { context: [12], continuation: [13, 14, 15] },
      { context: [13, 14, 15], continuation: [16] },
    ]);
    expect(rollingWindows([], 0, 3)).toEqual([]);
  });

  it('predicts every token exactly once, each from the tokens right before it, within the window (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 9 }), (tokens, max) => {
        const windows = rollingWindows(tokens, 0, max);
        const full = [0, ...tokens];
        let at = 0;
        for (const w of windows) {
          const { input, first } = modelInput(w, max);
          if (input.length > max || first < 0) return false;
          // The input ends right before the last predicted token and is a contiguous slice of [prefix, ...tokens].
          const end = at + w.continuation.length;
          if (JSON.stringify(input) !== JSON.stringify(full.slice(end - input.length, end))) return false;
          if (JSON.stringify(w.continuation) !== JSON.stringify(tokens.slice(at, end))) return false;
          at = end;
        }
        return at === tokens.length;
      }),
    );
  });
});

describe('modelInput', () => {
  it('keeps the last maxLength + 1 tokens and drops the final one, like lm-eval', () => {
    expect(modelInput({ context: [1, 2, 3, 4], continuation: [5, 6] }, 3)).toEqual({ input: [3, 4, 5], first: 1 });
    expect(() => modelInput({ context: [1], continuation: [2, 3, 4] }, 2)).toThrow(/does not fit/);
  });
});

describe('encodePair (lm-eval _encode_pair)', () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(path.join(PEER_TOKENIZERS, 'bpe-bytelevel'));
  });

  it('moves trailing whitespace to the continuation and splits the joint encoding', () => {
    const enc = (s: string) => tok.encode(s, undefined, { addSpecialTokens: false }).ids;
    const pair = encodePair(tok, 'Call me Ishmael. ', 'Some years');
    expect(pair.context).toEqual(enc('Call me Ishmael.'));
    expect([...pair.context, ...pair.continuation]).toEqual(enc('Call me Ishmael. Some years'));
    expect(pair.continuation.length).toBeGreaterThan(0);
  });

  it('conditions on end-of-text when the context is empty', () => {
    const pair = encodePair(tok, '', 'whale');
    expect(pair.context).toEqual([endOfTextId(tok)]);
  });
});

describe('text units', () => {
  it('count words like re.split(r"\\s+", text) in Python', () => {
    // CPython: len(re.split(r"\s+", "  Call me\tIshmael.\n")) == 5; "a\x1cb\ufeffc\xa0d" splits in 3.
    expect(countWords('  Call me\tIshmael.\n')).toBe(5);
    expect(countWords('a\x1cb\ufeffc\xa0d')).toBe(3);
    expect(countWords('')).toBe(1);
  });

  it('count UTF-8 bytes and strip like Python', () => {
    expect(countBytes('naïve 🐋')).toBe(11);
    expect(pythonRstrip('abc \t\n\x1c')).toBe('abc');
    expect(pythonRstrip('abc\ufeff')).toBe('abc\ufeff');
  });
});
