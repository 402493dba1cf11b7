import fc from 'fast-check';
import { ClassCounts, labelPairs } from './confusion';

/** Per-document counting, the definition the cell histogram must reproduce. */
function naive(golds: number[], preds: number[], indices: number[], size: number) {
  const zero = () => new Array<number>(size).fill(0);
  const out = { tp: zero(), fp: zero(), fn: zero(), goldTotals: zero(), predTotals: zero(), correct: 0 };
  for (const i of indices) {
    out.goldTotals[golds[i]]++;
    out.predTotals[preds[i]]++;
    if (golds[i] === preds[i]) {
      out.tp[golds[i]]++;
      out.correct++;
    } else {
      out.fp[preds[i]]++;
      out.fn[golds[i]]++;
    }
  }
  return out;
}

describe('ClassCounts', () => {
  it('counts any resample (repeats included) exactly as per-document counting, reusing its buffers', () => {
    const doc = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }));
    fc.assert(
      fc.property(
        fc.array(doc, { minLength: 1, maxLength: 40 }).chain((docs) =>
          fc.tuple(fc.constant(docs), fc.array(fc.array(fc.nat({ max: docs.length - 1 }), { maxLength: 60 }), { minLength: 1, maxLength: 4 })),
        ),
        ([docs, resamples]) => {
          const pairs = labelPairs(docs, 'test');
          const counts = new ClassCounts(pairs.size);
          for (const indices of resamples) {
            counts.count(pairs, Int32Array.from(indices));
            const want = naive(docs.map((d) => d[0]), docs.map((d) => d[1]), indices, pairs.size);
            expect({ tp: [...counts.tp], fp: [...counts.fp], fn: [...counts.fn], goldTotals: [...counts.goldTotals], predTotals: [...counts.predTotals], correct: counts.correct }).toEqual(want);
            expect(counts.n).toBe(indices.length);
          }
        },
      ),
    );
  });

  it('numbers only the (gold, pred) cells that occur, even for labels whose product passes 2^53', () => {
    const big = 2 ** 31 - 2;
    const pairs = labelPairs([[big, 3], [3, big], [big, 3], [0, 0]], 'test');
    expect(Array.from(pairs.cells)).toEqual([0, 1, 0, 2]);
    expect(Array.from(pairs.cellGold)).toEqual([big, 3, 0]);
    expect(Array.from(pairs.cellPred)).toEqual([3, big, 0]);
  });
});
