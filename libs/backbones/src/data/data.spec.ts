import { Prng } from '@patchwork/training';
import { blockAt, gatherBlocks, packBlocks } from './blocks';
import { maskBatch } from './mlm-batch';

describe('packBlocks', () => {
  it('concatenates documents with separators and cuts full blocks, dropping the tail', () => {
    const b = packBlocks([[1, 2, 3], [4], [5, 6]], { length: 3, separator: 0 });
    // Stream: 1 2 3 0 4 0 5 6 0 -> three blocks.
    expect(b.count).toBe(3);
    expect([...blockAt(b, 0)]).toEqual([1, 2, 3]);
    expect([...blockAt(b, 1)]).toEqual([0, 4, 0]);
    expect([...blockAt(b, 2)]).toEqual([5, 6, 0]);
    expect([...gatherBlocks(b, [2, 0])]).toEqual([5, 6, 0, 1, 2, 3]);
  });

  it('wraps BERT blocks in [CLS] ... [SEP]', () => {
    const b = packBlocks([[1, 2, 3, 4, 5]], { length: 4, separator: 9, prefix: 7, suffix: 9 });
    expect(b.count).toBe(3);
    expect([...b.ids]).toEqual([7, 1, 2, 9, 7, 3, 4, 9, 7, 5, 9, 9]);
    expect(() => packBlocks([], { length: 2, prefix: 1, suffix: 2 })).toThrow(/length/);
  });
});

describe('maskBatch', () => {
  it('lists every target with its original id, and forces one when none was drawn', () => {
    const ids = Int32Array.from([7, 1, 2, 3, 9]);
    const masking = { maskTokenId: 4, vocabSize: 10, specialTokenIds: new Set([7, 9]), mlmProbability: 0 };
    const forced = maskBatch(ids, masking, Prng.fromSeed(1));
    expect([...forced.positions]).toEqual([1]);
    expect([...forced.targets]).toEqual([1]);
    expect(forced.inputIds[1]).toBe(4);
    const all = maskBatch(ids, { ...masking, mlmProbability: 1 }, Prng.fromSeed(1));
    expect([...all.positions]).toEqual([1, 2, 3]);
    expect([...all.targets]).toEqual([1, 2, 3]);
  });
});
