import fc from 'fast-check';
import { SeededRandom } from '@patchwork/tensor';
import { bracketWindowOf } from './bracket-window';
import { rankWindowOf } from './rank-window';

describe('bracketWindowOf', () => {
  const n = 33_000;

  it('equals the exact selection for any window, with ties and zeros (property)', () => {
    const data = fc.record({
      seed: fc.nat(),
      // Quantised values make long runs of equal magnitudes; zeros stand for pruned entries.
      levels: fc.constantFrom(0, 7, 1000),
      zeros: fc.double({ min: 0, max: 0.9, noNaN: true }),
      from: fc.double({ min: 0, max: 1, noNaN: true }),
      width: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(data, ({ seed, levels, zeros, from, width }) => {
        const rng = new SeededRandom(seed);
        const values = rng.fillGaussian(new Float32Array(n));
        for (let j = 0; j < n; j++) {
          if (levels > 0) values[j] = Math.round(values[j] * levels) / levels;
          if (rng.nextFloat() < zeros) values[j] = rng.nextFloat() < 0.5 ? 0 : -0;
        }
        const lo = Math.floor(from * n);
        const hi = lo + Math.floor(width * (n - lo));
        expect(bracketWindowOf(values, lo, hi)).toEqual(rankWindowOf(values, lo, hi));
        expect(bracketWindowOf(values, 0, hi)).toEqual(rankWindowOf(values, 0, hi));
      }),
      { numRuns: 8 },
    );
  });

  it('rejects NaN as the exact selection does', () => {
    const values = new SeededRandom(1).fillGaussian(new Float32Array(n));
    values[123] = NaN;
    expect(() => bracketWindowOf(values, 0, n / 2)).toThrow(/NaN/);
    expect(() => bracketWindowOf(values, 10, n / 2)).toThrow(/NaN/);
  });
});
