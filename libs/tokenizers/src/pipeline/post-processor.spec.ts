import { PatchworkError } from '@patchwork/errors';
import { countAddedTokens, createPostProcessor, type Segment } from './post-processor';
import { longestFirstLengths } from './truncation';

const seq = (tokens: string[], typeId: number): Segment => ({
  ids: tokens.map((_, i) => 100 + i),
  tokens,
  typeIds: tokens.map(() => typeId),
});

function flatten(segments: Segment[]) {
  return {
    tokens: segments.flatMap((s) => s.tokens),
    ids: segments.flatMap((s) => s.ids),
    typeIds: segments.flatMap((s) => s.typeIds),
  };
}

describe('post-processors', () => {
  it('TemplateProcessing takes ids and tokens from its special_tokens table', () => {
    const processor = createPostProcessor({
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[2FR]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[2FR]', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '[2FR]': { id: '[2FR]', ids: [1, 2, 3], tokens: ['convert', 'to', 'FR'] } },
    });
    expect(flatten(processor([seq(['hi'], 0)], true))).toEqual({ tokens: ['convert', 'to', 'FR', 'hi'], ids: [1, 2, 3, 100], typeIds: [0, 0, 0, 0] });
    expect(flatten(processor([seq(['a'], 0), seq(['b'], 1)], true)).typeIds).toEqual([0, 1, 1, 1, 1]);
    expect(flatten(processor([seq(['a'], 0), seq(['b'], 1)], false))).toEqual({ tokens: ['a', 'b'], ids: [100, 100], typeIds: [0, 1] });
    expect(countAddedTokens(processor, false)).toBe(3);
  });

  it('RobertaProcessing gives every token type id 0, the pair included', () => {
    const processor = createPostProcessor({ type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0] });
    const out = flatten(processor([seq(['Hello', 'there'], 0), seq(['pair'], 1)], true));
    expect(out.tokens).toEqual(['<s>', 'Hello', 'there', '</s>', '</s>', 'pair', '</s>']);
    expect(out.ids).toEqual([0, 100, 101, 2, 2, 100, 2]);
    expect(out.typeIds).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(countAddedTokens(processor, true)).toBe(4);
  });

  it('BertProcessing closes the pair with a type-1 [SEP]', () => {
    const processor = createPostProcessor({ type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] });
    const out = flatten(processor([seq(['a'], 0), seq(['b'], 1)], true));
    expect(out.tokens).toEqual(['[CLS]', 'a', '[SEP]', 'b', '[SEP]']);
    expect(out.typeIds).toEqual([0, 0, 0, 1, 1]);
    expect(countAddedTokens(processor, false)).toBe(2);
  });

  it('Sequence applies its processors in order; ByteLevel leaves tokens alone', () => {
    const processor = createPostProcessor({
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { '<bos>': { id: '<bos>', ids: [7], tokens: ['<bos>'] } },
        },
      ],
    });
    expect(flatten(processor([seq(['x'], 0)], true)).tokens).toEqual(['<bos>', 'x']);
  });

  it('rejects malformed templates and unknown types with clear errors', () => {
    expect(() =>
      createPostProcessor({ type: 'TemplateProcessing', single: [{ SpecialToken: { id: '[X]', type_id: 0 } }], pair: [], special_tokens: {} }),
    ).toThrow(/not in special_tokens/);
    expect(() => createPostProcessor({ type: 'BertProcessing', sep: 'oops', cls: ['[CLS]', 1] })).toThrow(/post_processor.sep/);
    try {
      createPostProcessor({ type: 'Mystery' });
      throw new Error('expected a failure');
    } catch (error) {
      expect((error as PatchworkError).code).toBe('UNIMPLEMENTED');
    }
  });
});

describe('longestFirstLengths', () => {
  // Lengths (empty 0, short 2, medium 4, long 8) and results of the Rust library's own truncation
  // tests for max_length 7.
  it.each([
    [0, 0, 0, 0],
    [0, 8, 0, 7],
    [2, 8, 2, 5],
    [4, 4, 3, 4],
    [4, 8, 3, 4],
    [8, 0, 7, 0],
    [8, 2, 5, 2],
    [8, 4, 4, 3],
    [8, 8, 3, 4],
  ])('(%i, %i) -> (%i, %i)', (first, second, expectFirst, expectSecond) => {
    expect(longestFirstLengths(first, second, 7)).toEqual([expectFirst, expectSecond]);
  });

  it('cuts a single sequence to the budget and both to nothing for a zero budget', () => {
    expect(longestFirstLengths(10, undefined, 7)).toEqual([7, 0]);
    expect(longestFirstLengths(3, undefined, 7)).toEqual([3, 0]);
    expect(longestFirstLengths(3, 4, 0)).toEqual([0, 0]);
  });
});
