import fc from 'fast-check';
import { deriveSeed, mulberry32, shuffleInPlace } from './random';

describe('mulberry32', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
  });

  it('draws from [0, 1) with a flat histogram (chi-square, 20 bins, 100k draws)', () => {
    const random = mulberry32(7);
    const bins = new Array<number>(20).fill(0);
    const n = 100_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = random();
      if (!(x >= 0 && x < 1)) outside++;
      else bins[Math.floor(x * 20)]++;
    }
    expect(outside).toBe(0);
    const expected = n / 20;
    const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    // 19 degrees of freedom: P(chi2 > 43.8) = 0.001.
    expect(chi2).toBeLessThan(43.8);
  });
});

describe('deriveSeed', () => {
  it('gives each stream its own seed, stable for a given user seed', () => {
    expect(deriveSeed(0, 'digits')).toBe(deriveSeed(0, 'digits'));
    expect(deriveSeed(0, 'digits')).not.toBe(deriveSeed(0, 'sotu'));
    expect(deriveSeed(0, 'digits')).not.toBe(deriveSeed(1, 'digits'));
    expect(Number.isInteger(deriveSeed(0xffffffff, 'x')) && deriveSeed(0xffffffff, 'x') >= 0).toBe(true);
  });
});

describe('shuffleInPlace', () => {
  it('returns a permutation of its input', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 0, max: 0xffffffff }), (xs, seed) => {
        const shuffled = shuffleInPlace([...xs], mulberry32(seed));
        expect([...shuffled].sort((p, q) => p - q)).toEqual([...xs].sort((p, q) => p - q));
      }),
    );
  });

  it('puts each element in each position about equally often', () => {
    const counts = Array.from({ length: 4 }, () => new Array<number>(4).fill(0));
    const random = mulberry32(3);
    for (let t = 0; t < 40_000; t++) shuffleInPlace([0, 1, 2, 3], random).forEach((v, pos) => counts[v][pos]++);
    for (const row of counts) for (const c of row) expect(Math.abs(c - 10_000)).toBeLessThan(600);
  });
});
