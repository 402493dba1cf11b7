import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { loadTokenizer } from './load';
import { longestFirstLengths } from './pipeline/truncation';
import { PEER_TOKENIZERS } from './testing/fixtures';
import type { Tokenizer } from './types';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PatchworkError);
    return (error as PatchworkError).code;
  }
  return undefined;
}

describe('HfBackedTokenizer (WordPiece reference tokenizer)', () => {
  let bert: Tokenizer;
  let gpt: Tokenizer;
  beforeAll(async () => {
    bert = await loadTokenizer(path.join(PEER_TOKENIZERS, 'wordpiece'));
    gpt = await loadTokenizer(path.join(PEER_TOKENIZERS, 'bpe-bytelevel'));
  });

  it('exposes vocabulary size, lookups and special-token roles', () => {
    expect(bert.vocabSize).toBe(450);
    expect(bert.tokenToId('[CLS]')).toBe(2);
    expect(bert.idToToken(3)).toBe('[SEP]');
    expect(bert.idToToken(-1)).toBeUndefined();
    expect(bert.tokenToId('not-a-token')).toBeUndefined();
    expect(bert.specialTokens).toMatchObject({
      pad: { token: '[PAD]', id: 0 },
      unk: { token: '[UNK]', id: 1 },
      cls: { token: '[CLS]', id: 2 },
      sep: { token: '[SEP]', id: 3 },
      mask: { token: '[MASK]', id: 4 },
    });
    expect(bert.allSpecialIds).toEqual([0, 1, 2, 3, 4]);
    expect(gpt.specialTokens).toMatchObject({ eos: { token: '<|endoftext|>', id: 0 }, bos: { id: 0 } });
    expect(gpt.specialTokens.pad).toBeUndefined();
  });

  it('leaves special tokens out when asked', () => {
    const plain = bert.encode('Call me Ishmael.', undefined, { addSpecialTokens: false });
    const full = bert.encode('Call me Ishmael.');
    expect(full.ids).toEqual([2, ...plain.ids, 3]);
  });

  it('pads batches on the right with the pad token and masks the padding', () => {
    const batch = bert.encodeBatch(['whale', 'call me ishmael', ['first', 'second']], { padding: 'longest' });
    const expected = [bert.encode('whale'), bert.encode('call me ishmael'), bert.encode('first', 'second')];
    const width = Math.max(...expected.map((e) => e.ids.length));
    expected.forEach((e, i) => {
      const pad = width - e.ids.length;
      expect(batch.inputIds[i]).toEqual([...e.ids, ...Array(pad).fill(0)]);
      expect(batch.attentionMask[i]).toEqual([...e.ids.map(() => 1), ...Array(pad).fill(0)]);
      expect(batch.typeIds[i]).toEqual([...(e.typeIds ?? []), ...Array(pad).fill(0)]);
    });
    expect(expected[0].ids.length).toBeLessThan(width);
    const fixed = bert.encodeBatch(['whale'], { padding: { length: 8 } });
    expect(fixed.inputIds[0]).toHaveLength(8);
  });

  it('truncates to maxLength counting the special tokens, longest first for pairs', () => {
    const long = 'the whale the whale the whale the whale the whale';
    const batch = bert.encodeBatch([long, [long, 'short one']], { padding: 'longest', truncation: { maxLength: 9 } });
    expect(batch.inputIds.map((r) => r.length)).toEqual([9, 9]);
    const single = batch.inputIds[0];
    expect(single[0]).toBe(2);
    expect(single[8]).toBe(3);
    expect(single.slice(1, 8)).toEqual(bert.encode(long, undefined, { addSpecialTokens: false }).ids.slice(0, 7));
    const a = bert.encode(long, undefined, { addSpecialTokens: false }).ids;
    const b = bert.encode('short one', undefined, { addSpecialTokens: false }).ids;
    const [la, lb] = longestFirstLengths(a.length, b.length, 9 - 3);
    expect(la + lb).toBe(6);
    expect(batch.inputIds[1]).toEqual([2, ...a.slice(0, la), 3, ...b.slice(0, lb), 3]);
  });

  it('refuses bad batch options and a missing pad token', () => {
    expect(codeOf(() => gpt.encodeBatch(['a'], { padding: 'longest' }))).toBe('FAILED_PRECONDITION');
    expect(codeOf(() => bert.encodeBatch(['a'], { padding: { length: 0 } }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => bert.encodeBatch(['a b c d e f'], { padding: { length: 3 } }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => bert.encodeBatch(['a'], { padding: 'longest', truncation: { maxLength: 1 } }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => bert.encodeBatch([42 as unknown as string], { padding: 'longest' }))).toBe('INVALID_ARGUMENT');
  });

  it('decodes, skipping special tokens on request, and rejects unknown ids', () => {
    const ids = bert.encode('Call me Ishmael.').ids;
    expect(bert.decode(ids)).toBe('[CLS] call me ishmael. [SEP]');
    expect(bert.decode(ids, { skipSpecialTokens: true })).toBe('call me ishmael.');
    expect(bert.decode([])).toBe('');
    expect(bert.decode([2, 3], { skipSpecialTokens: true })).toBe('');
    expect(codeOf(() => bert.decode([450]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => bert.decode([1.5]))).toBe('INVALID_ARGUMENT');
  });

  it('gives a pad token to a tokenizer without one when the caller names it', async () => {
    const padded = await loadTokenizer(path.join(PEER_TOKENIZERS, 'bpe-bytelevel'), { specialTokens: { pad: '<|endoftext|>' } });
    const batch = padded.encodeBatch(['Call me', 'Call me Ishmael.'], { padding: 'longest' });
    expect(batch.inputIds[0].slice(-1)).toEqual([0]);
    expect(batch.attentionMask[0].slice(-1)).toEqual([0]);
  });
});
