import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { stratifiedSplit, type SplitFractions } from './split';

const fractionsArb: fc.Arbitrary<SplitFractions> = fc
  .tuple(fc.integer({ min: 1, max: 18 }), fc.integer({ min: 0, max: 10 }))
  .filter(([train, val]) => train + val <= 20)
  .map(([train, val]) => ({ train: train / 20, validation: val / 20, test: (20 - train - val) / 20 }));

describe('stratifiedSplit', () => {
  it('partitions every index exactly once, with per-stratum sizes of round(n * fraction)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 200 }),
        fractionsArb,
        fc.integer({ min: 0, max: 0xffffffff }),
        (strata, fractions, seed) => {
          const splits = stratifiedSplit(strata, { seed, fractions }, 'test-stream');
          const all = [...splits.train, ...splits.validation, ...splits.test].sort((x, y) => x - y);
          expect(all).toEqual(strata.map((_, i) => i));
          for (const key of new Set(strata)) {
            const n = strata.filter((s) => s === key).length;
            const count = (ids: number[]) => ids.filter((i) => strata[i] === key).length;
            const nTest = Math.min(n, Math.round(n * fractions.test));
            expect(count(splits.test)).toBe(nTest);
            expect(count(splits.validation)).toBe(Math.min(n - nTest, Math.round(n * fractions.validation)));
          }
        },
      ),
    );
  });

  it('keeps items with the same group key in one split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom('g1', 'g2', 'g3', 'g4', 'g5', 'g6')), { maxLength: 100 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (items, seed) => {
          const splits = stratifiedSplit(
            items.map(([s]) => s),
            { seed, fractions: { train: 0.4, validation: 0.3, test: 0.3 } },
            's',
            items.map(([, g]) => g),
          );
          const splitOf = new Map<string, string>();
          for (const name of ['train', 'validation', 'test'] as const) {
            for (const i of splits[name]) {
              const group = items[i][1];
              expect(splitOf.get(group) ?? name).toBe(name);
              splitOf.set(group, name);
            }
          }
          expect(splits.train.length + splits.validation.length + splits.test.length).toBe(items.length);
        },
      ),
    );
    expect(() => stratifiedSplit(['a', 'b'], {}, 's', ['x'])).toThrow(/groups/);
  });

  it('is deterministic in the seed and stream, and changes with them', () => {
    const strata = Array.from({ length: 300 }, (_, i) => i % 3);
    const fractions = { train: 0.6, validation: 0.2, test: 0.2 };
    const a = stratifiedSplit(strata, { seed: 5, fractions }, 's');
    expect(stratifiedSplit(strata, { seed: 5, fractions }, 's')).toEqual(a);
    expect(stratifiedSplit(strata, { seed: 6, fractions }, 's').test).not.toEqual(a.test);
    expect(stratifiedSplit(strata, { seed: 5, fractions }, 't').test).not.toEqual(a.test);
  });

  it('interleaves strata inside each split', () => {
    const strata = Array.from({ length: 1000 }, (_, i) => (i < 500 ? 'x' : 'y'));
    const { train } = stratifiedSplit(strata, { seed: 1 }, 's');
    const firstHalf = train.slice(0, train.length / 2).filter((i) => strata[i] === 'x').length;
    expect(Math.abs(firstHalf - train.length / 4)).toBeLessThan(train.length / 10);
  });

  it.each([
    [{ seed: -1 }, 'seed'],
    [{ seed: 1.5 }, 'seed'],
    [{ fractions: { train: 0.5, validation: 0.2, test: 0.2 } }, 'fractions'],
    [{ fractions: { train: 0, validation: 0.5, test: 0.5 } }, 'fractions.train'],
    [{ fractions: { train: 1.2, validation: -0.1, test: -0.1 } }, 'fractions.train'],
  ])('rejects %j naming %s', (options, field) => {
    try {
      stratifiedSplit(['a'], options, 's');
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(PatchworkError);
      expect((error as PatchworkError).code).toBe('INVALID_ARGUMENT');
      expect((error as PatchworkError).message.startsWith(field)).toBe(true);
    }
  });
});
