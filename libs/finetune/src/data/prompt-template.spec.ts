import type { Tokenizer } from '@patchwork/tokenizers';
import { thrown } from '../testing/tensors';
import { tinyTokenizer } from '../testing/tiny-task';
import { encodeTexts } from './encode-text';
import { PromptTemplate } from './prompt-template';

describe('PromptTemplate', () => {
  let bert: Tokenizer;
  let gpt2: Tokenizer;
  beforeAll(async () => {
    bert = await tinyTokenizer('bert');
    gpt2 = await tinyTokenizer('gpt2');
  });
  const word = (t: Tokenizer, w: string) => t.encode(w, undefined, { addSpecialTokens: false }).ids;

  it('frames a masked prompt as [CLS] text template [MASK] . [SEP] and points at the mask', () => {
    const p = PromptTemplate.create({ template: '{text} it was {mask}.', labelWords: ['awful', 'great'] }, bert, 'masked');
    expect(p.labelTokenIds).toEqual([...word(bert, ' awful'), ...word(bert, ' great')]);
    const rows = p.encode(bert, ['the ship'], 16);
    const ids = Array.from(rows.ids.slice(0, 16));
    const expected = [bert.tokenToId('[CLS]'), ...word(bert, 'the ship'), ...word(bert, ' it was'), bert.tokenToId('[MASK]'), ...word(bert, '.'), bert.tokenToId('[SEP]')];
    expect(ids.slice(0, expected.length)).toEqual(expected);
    expect(rows.predictAt?.[0]).toBe(expected.indexOf(bert.tokenToId('[MASK]')));
    expect(Array.from(rows.mask.slice(0, 16)).filter((m) => m === 1).length).toBe(expected.length);
  });

  it('cuts the text, never the template, to fit the row', () => {
    const p = PromptTemplate.create({ template: '{text} it was {mask}.', labelWords: ['awful', 'great'] }, bert, 'masked');
    const long = Array(40).fill('whale').join(' ');
    const rows = p.encode(bert, [long], 12);
    const ids = Array.from(rows.ids);
    expect(ids[11]).toBe(bert.tokenToId('[SEP]'));
    expect(ids[rows.predictAt?.[0] as number]).toBe(bert.tokenToId('[MASK]'));
    expect(() => p.encode(bert, ['x'], 4)).toThrow(/too short/);
  });

  it('predicts the next token of a causal prompt from its last position', () => {
    const p = PromptTemplate.create({ template: '{text} it was {mask}', labelWords: ['awful', 'great'] }, gpt2, 'causal');
    const rows = p.encode(gpt2, ['the sea', 'the big ship sail'], 12);
    const first = [...word(gpt2, 'the sea'), ...word(gpt2, ' it was')];
    expect(Array.from(rows.ids.slice(0, first.length))).toEqual(first);
    expect(rows.predictAt?.[0]).toBe(first.length - 1);
    expect(thrown(() => PromptTemplate.create({ template: '{text} it was {mask} indeed', labelWords: ['awful', 'great'] }, gpt2, 'causal')).message).toMatch(/must end the template/);
  });

  it('rejects label words that are not single tokens, and malformed templates', () => {
    const e = thrown(() => PromptTemplate.create({ template: '{text} it was {mask}.', labelWords: ['awful', 'magnificently'] }, bert, 'masked'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/label_words\[1\].*single tokens/);
    expect(thrown(() => PromptTemplate.create({ template: 'it was {mask}.', labelWords: ['awful', 'great'] }, bert, 'masked')).message).toMatch(/\{text\} exactly once/);
    expect(thrown(() => PromptTemplate.create({ template: '{text} {mask}', labelWords: ['great', 'great'] }, bert, 'masked')).message).toMatch(/distinct/);
    expect(thrown(() => PromptTemplate.create({ template: '{text} {mask}', labelWords: ['awful', 'great'] }, gpt2, 'masked')).message).toMatch(/no mask token/);
  });
});

describe('encodeTexts', () => {
  it('matches tokenizing the whole text and cutting it', async () => {
    const bert = await tinyTokenizer('bert');
    const long = Array.from({ length: 300 }, (_, i) => ['the', 'whale', 'sea', 'captain'][i % 4]).join(' ');
    const rows = encodeTexts(bert, [long, 'short'], 20);
    const whole = bert.encode(long, undefined, { addSpecialTokens: false }).ids;
    expect(Array.from(rows.ids.slice(0, 20))).toEqual([bert.tokenToId('[CLS]'), ...whole.slice(0, 18), bert.tokenToId('[SEP]')]);
    expect(Array.from(rows.mask.slice(20, 40)).filter((m) => m === 1).length).toBe(bert.encode('short').ids.length);
  });
});
