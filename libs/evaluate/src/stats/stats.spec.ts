import fc from 'fast-check';
import { argmax } from './argmax';
import { bootstrapGroupStderrs, bootstrapStderrs } from './bootstrap';
import { mean, meanStderr, sampleStddev } from './moments';

describe('argmax', () => {
  it('returns the first maximum on ties, like numpy and torch', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([-2, -2])).toBe(0);
    expect(argmax([0])).toBe(0);
  });

  it('treats NaN as the maximum, like numpy', () => {
    expect(argmax([1, Number.NaN, 5])).toBe(1);
    expect(argmax([Number.NaN, 5])).toBe(0);
  });

  it('rejects an empty list', () => {
    expect(() => argmax([])).toThrow(/empty/);
  });

  it('picks an index holding the maximum, and no earlier one holds it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1 }), (xs) => {
        const i = argmax(xs);
        const max = Math.max(...xs);
        return xs[i] === max && xs.slice(0, i).every((x) => x < max);
      }),
    );
  });
});

describe('moments', () => {
  it('matches hand-computed values', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(sampleStddev([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 15);
    expect(meanStderr([1, 0, 1, 1])).toBeCloseTo(0.5 / 2, 15);
  });

  it('is NaN below two values (lm-eval reports N/A there)', () => {
    expect(sampleStddev([3])).toBeNaN();
    expect(meanStderr([])).toBeNaN();
  });
});

describe('bootstrapStderrs', () => {
  const golds = [0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 1, 2, 1, 1, 0, 2, 2, 0, 1, 0];

  it('replays lm-eval: chunks of 1000 seeded 0, 1, ... and the sample std of the replicates', () => {
    // Mean of resampled golds; reference from CPython with lm-eval's bootstrap_stderr loop.
    const out = bootstrapStderrs(golds.length, { m: (idx) => mean(Array.from(idx, (i) => golds[i])) }, { iters: 2000 });
    expect(out.m).toBeCloseTo(0.180195519402139, 14);
  });

  it('gives every statistic the same resamples', () => {
    const seen: number[][] = [];
    bootstrapStderrs(5, { a: (idx) => (seen.push(Array.from(idx)), 0), b: (idx) => (seen.push(Array.from(idx)), 0) }, { iters: 3 });
    expect(seen).toHaveLength(6);
    for (let r = 0; r < 3; r++) expect(seen[2 * r]).toEqual(seen[2 * r + 1]);
  });

  it('rounds iterations down to whole chunks and changes with the seed', () => {
    let calls = 0;
    bootstrapStderrs(4, { a: () => (calls++, 0) }, { iters: 2500 });
    expect(calls).toBe(2000);
    const stat = { m: (idx: Int32Array) => mean(Array.from(idx, (i) => golds[i])) };
    expect(bootstrapStderrs(20, stat, { iters: 1000, seed: 1 }).m).not.toBe(bootstrapStderrs(20, stat, { iters: 1000, seed: 0 }).m);
  });

  it('gives a group of statistics sharing their work exactly what separate statistics give', () => {
    const first = (idx: Int32Array) => golds[idx[0]];
    const sum = (idx: Int32Array) => mean(Array.from(idx, (i) => golds[i] * golds[i]));
    const separate = bootstrapStderrs(golds.length, { first, sum }, { iters: 2000, seed: 3 });
    const grouped = bootstrapGroupStderrs(
      golds.length,
      [
        {
          names: ['sum', 'first'],
          compute: (idx, out) => {
            out[0] = sum(idx);
            out[1] = first(idx);
          },
        },
      ],
      { iters: 2000, seed: 3 },
    );
    expect(grouped).toEqual(separate);
    expect(() => bootstrapGroupStderrs(4, [{ names: ['a'], compute: () => undefined }, { names: ['a'], compute: () => undefined }])).toThrow(/a appears twice/);
  });

  it('is NaN for fewer than two items, and validates its options', () => {
    expect(bootstrapStderrs(1, { a: () => 1 }).a).toBeNaN();
    expect(() => bootstrapStderrs(3, { a: () => 1 }, { iters: 0 })).toThrow(/bootstrap_iters/);
    expect(() => bootstrapStderrs(3, { a: () => 1 }, { seed: -1 })).toThrow(/seed/);
  });
});
