import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { SeededRandom } from './rng';

describe('SeededRandom', () => {
  it('is deterministic per seed and differs between nearby seeds', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), (seed) => {
        const a = new SeededRandom(seed);
        const b = new SeededRandom(seed);
        const c = new SeededRandom(seed + 1);
        const xs = Array.from({ length: 8 }, () => a.nextUint32());
        expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
        expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
      }),
      { numRuns: 50 },
    );
  });

  it('distinguishes seeds that differ only above bit 32', () => {
    expect(new SeededRandom(2 ** 33).nextUint32()).not.toBe(new SeededRandom(0).nextUint32());
  });

  it('produces uniform floats in [0, 1) with the right moments', () => {
    const rng = new SeededRandom(42);
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = rng.nextFloat();
      min = Math.min(min, x);
      max = Math.max(max, x);
      sum += x;
      sumSq += x * x;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // Mean 1/2 (sd of the estimate 0.0009), variance 1/12.
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sumSq / n - (sum / n) ** 2 - 1 / 12)).toBeLessThan(0.003);
  });

  it('produces standard normal deviates (mean, variance, tail mass)', () => {
    const xs = new SeededRandom(7).fillGaussian(new Float64Array(200_000));
    let sum = 0;
    let sumSq = 0;
    let beyond2 = 0;
    for (const x of xs) {
      sum += x;
      sumSq += x * x;
      if (Math.abs(x) > 2) beyond2++;
    }
    const mean = sum / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(sumSq / xs.length - mean ** 2 - 1)).toBeLessThan(0.015);
    // P(|Z| > 2) = 0.0455.
    expect(Math.abs(beyond2 / xs.length - 0.0455)).toBeLessThan(0.003);
  });

  it('fills uniform ranges and rejects unsafe seeds', () => {
    const xs = new SeededRandom(1).fillUniform(new Float32Array(1000), -3, 5);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...xs)).toBeLessThanOrEqual(5);
    expect(() => new SeededRandom(0.5)).toThrow(PatchworkError);
    expect(() => new SeededRandom(Number.NaN)).toThrow(/seed/);
  });
});
