import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { gpt2Pattern } from '../compat/whitespace';
import { createTokenizer } from '../load';
import type { Tokenizer } from '../types';
import type { BpeModelJson } from '../tokenizer-json';
import { BYTE_TO_CHAR, byteLevelAlphabet, toByteLevel } from './byte-level';
import { trainBpeTokenizer } from './train-bpe';

const CORPUS = [
  'Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse,',
  'and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.',
  'It is a way I have of driving off the spleen and regulating the circulation. <|endoftext|> Whenever I find myself growing grim',
  'about the mouth; whenever it is a damp, drizzly November in my soul; whenever I find myself involuntarily pausing',
  'before coffin warehouses, and bringing up the rear of every funeral I meet; the whale, the whale, the whale!',
];

function modelOf(json: ReturnType<typeof trainBpeTokenizer>): BpeModelJson {
  return json.model as unknown as BpeModelJson;
}

/** Recounts every pair after every merge: slow and obviously right, the oracle for the trainer. */
function naiveMerges(texts: string[], vocabSize: number, minFrequency: number): [string, string][] {
  const counts = new Map<string, number>();
  for (const text of texts) for (const m of text.matchAll(gpt2Pattern())) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const words = [...counts].map(([piece, n]) => ({ symbols: Array.from(toByteLevel(piece)), n }));
  const vocab = new Set(byteLevelAlphabet());
  const merges: [string, string][] = [];
  while (vocab.size < vocabSize) {
    const pairs = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.symbols.length; i++) {
        const k = JSON.stringify([w.symbols[i], w.symbols[i + 1]]);
        pairs.set(k, (pairs.get(k) ?? 0) + w.n);
      }
    }
    let best: [string, string] | undefined;
    let bestCount = 0;
    for (const [k, n] of pairs) {
      const p = JSON.parse(k) as [string, string];
      if (n > bestCount || (n === bestCount && best && (p[0] < best[0] || (p[0] === best[0] && p[1] < best[1])))) {
        best = p;
        bestCount = n;
      }
    }
    if (!best || bestCount < minFrequency) break;
    merges.push(best);
    vocab.add(best[0] + best[1]);
    for (const w of words) {
      const next: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === best[0] && w.symbols[i + 1] === best[1]) {
          next.push(best[0] + best[1]);
          i++;
        } else {
          next.push(w.symbols[i]);
        }
      }
      w.symbols = next;
    }
  }
  return merges;
}

describe('byte-level alphabet', () => {
  it('maps the 256 bytes to 256 distinct visible characters, space to Ġ and newline to Ċ', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ');
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    expect(toByteLevel('é ')).toBe('Ã©Ġ');
  });
});

describe('trainBpeTokenizer', () => {
  it('produces the merges of a full recount after every step (incremental counts are exact)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'c', ' ', 'é', '\n'), maxLength: 30 }), { maxLength: 8 }),
        fc.integer({ min: 256, max: 300 }),
        fc.integer({ min: 1, max: 3 }),
        (texts, vocabSize, minFrequency) => {
          const json = trainBpeTokenizer(texts, { vocabSize, minFrequency, specialTokens: [], byteLevel: true });
          expect(modelOf(json).merges).toEqual(naiveMerges(texts, vocabSize, minFrequency));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('lays out the vocabulary as special tokens, byte alphabet, then merges', () => {
    const json = trainBpeTokenizer(CORPUS, { vocabSize: 320, specialTokens: ['<|endoftext|>', '<pad>'], byteLevel: true });
    const { vocab, merges } = modelOf(json);
    const byId = Object.entries(vocab).sort((x, y) => x[1] - y[1]).map(([t]) => t);
    expect(byId.slice(0, 2)).toEqual(['<|endoftext|>', '<pad>']);
    expect(byId.slice(2, 258)).toEqual(byteLevelAlphabet());
    expect(byId).toHaveLength(320);
    merges.forEach(([a, b], i) => {
      expect(vocab[a]).toBeLessThan(258 + i);
      expect(vocab[b]).toBeLessThan(258 + i);
      expect(vocab[a + b]).toBeDefined();
    });
    expect(json.added_tokens.map((t) => [t.id, t.content, t.special])).toEqual([
      [0, '<|endoftext|>', true],
      [1, '<pad>', true],
    ]);
    // Special tokens in the corpus are cut out before counting, never merged into words.
    expect(byId.some((t) => t.includes('endoftext') && t !== '<|endoftext|>')).toBe(false);
  });

  it('is deterministic: the same corpus gives byte-identical JSON, generators included', () => {
    const options = { vocabSize: 400, specialTokens: ['<|endoftext|>'], byteLevel: true } as const;
    const first = JSON.stringify(trainBpeTokenizer(CORPUS, options));
    function* again(): Generator<string> {
      yield* CORPUS;
    }
    expect(JSON.stringify(trainBpeTokenizer(again(), options))).toBe(first);
  });

  it('stops at minFrequency before reaching vocabSize', () => {
    const json = trainBpeTokenizer(['ab ab ab cd'], { vocabSize: 1000, minFrequency: 2, specialTokens: [], byteLevel: true });
    expect(modelOf(json).merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
    ]);
  });

  it('keeps tokens named like Object.prototype members as ordinary vocabulary entries', async () => {
    const json = trainBpeTokenizer(Array(5).fill('constructor toString'), { vocabSize: 300, specialTokens: [], byteLevel: true });
    const vocab = modelOf(json).vocab;
    expect(Object.prototype.hasOwnProperty.call(vocab, 'constructor')).toBe(true);
    const tokenizer = await createTokenizer(JSON.parse(JSON.stringify(json)));
    expect(tokenizer.encode('constructor toString').tokens).toEqual(['constructor', 'ĠtoString']);
  });

  it('rejects invalid options with the field named', () => {
    const expectCode = (fn: () => unknown, code: string, field?: RegExp) => {
      try {
        fn();
        throw new Error('expected a failure');
      } catch (error) {
        expect(error).toBeInstanceOf(PatchworkError);
        expect((error as PatchworkError).code).toBe(code);
        if (field) expect((error as PatchworkError).message).toMatch(field);
      }
    };
    expectCode(() => trainBpeTokenizer(CORPUS, { vocabSize: 200, specialTokens: [], byteLevel: true }), 'INVALID_ARGUMENT', /vocabSize/);
    expectCode(() => trainBpeTokenizer(CORPUS, { vocabSize: 300, specialTokens: ['x', 'x'], byteLevel: true }), 'INVALID_ARGUMENT', /specialTokens/);
    expectCode(() => trainBpeTokenizer(CORPUS, { vocabSize: 300, minFrequency: 0, specialTokens: [], byteLevel: true }), 'INVALID_ARGUMENT', /minFrequency/);
    expectCode(() => trainBpeTokenizer('text' as unknown as string[], { vocabSize: 300, specialTokens: [], byteLevel: true }), 'INVALID_ARGUMENT', /corpus/);
    expectCode(() => trainBpeTokenizer([1 as unknown as string], { vocabSize: 300, specialTokens: [], byteLevel: true }), 'INVALID_ARGUMENT', /corpus\[0\]/);
    expectCode(() => trainBpeTokenizer(CORPUS, { vocabSize: 300, specialTokens: [], byteLevel: false as true }), 'UNIMPLEMENTED');
    expectCode(
      () => trainBpeTokenizer(CORPUS, { vocabSize: 300, specialTokens: ['<s>'], byteLevel: true, template: { single: '<s> $A </x>' } }),
      'INVALID_ARGUMENT',
      /template.single/,
    );
  });
});

describe('a trained tokenizer loaded back', () => {
  let tokenizer: Tokenizer;
  let json: ReturnType<typeof trainBpeTokenizer>;
  beforeAll(async () => {
    json = trainBpeTokenizer(CORPUS, { vocabSize: 400, specialTokens: ['<|endoftext|>'], byteLevel: true });
    tokenizer = await createTokenizer(JSON.parse(JSON.stringify(json)));
  });

  it('round-trips arbitrary Unicode text: decode(encode(s)) === s', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        expect(tokenizer.decode(tokenizer.encode(s).ids)).toBe(s);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...CORPUS, ' ', '\n', '<|endoftext|>', '  \t', 'émoji 🐋')), (parts) => {
        const s = parts.join('');
        expect(tokenizer.decode(tokenizer.encode(s).ids)).toBe(s);
      }),
    );
  });

  it('uses the learned merges on training text and keeps special tokens whole', () => {
    const encoding = tokenizer.encode('the whale <|endoftext|>');
    expect(encoding.tokens).toContain('Ġwhale');
    expect(encoding.tokens[encoding.tokens.length - 1]).toBe('<|endoftext|>');
    expect(encoding.ids[encoding.ids.length - 1]).toBe(0);
    expect(tokenizer.vocabSize).toBe(Object.keys(modelOf(json).vocab).length);
  });

  it('adds the special tokens of a template', async () => {
    const withTemplate = trainBpeTokenizer(CORPUS, {
      vocabSize: 300,
      specialTokens: ['<pad>', '<s>', '</s>'],
      byteLevel: true,
      template: { single: '<s> $A </s>', pair: '<s> $A </s> </s> $B:1 </s>:1' },
    });
    const t = await createTokenizer(withTemplate);
    const single = t.encode('whale');
    expect(single.ids[0]).toBe(1);
    expect(single.ids[single.ids.length - 1]).toBe(2);
    const pair = t.encode('a', 'b');
    expect(pair.tokens).toEqual(['<s>', 'a', '</s>', '</s>', 'b', '</s>']);
    expect(pair.typeIds).toEqual([0, 0, 0, 0, 1, 1]);
    expect(t.specialTokens.pad?.id).toBe(0);
    expect(t.decode(single.ids, { skipSpecialTokens: true })).toBe('whale');
  });
});
