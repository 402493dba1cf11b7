import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { SeededRandom } from './rng';
import { chunkStats, l2NormOfStats, meanOfStats, mergeStats, streamStats, StatsAccumulator } from './stream-reduce';
import { chunked } from './testing';

const values = fc
  .array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e4, max: 1e4 }), { maxLength: 3000 })
  .map((xs) => Float32Array.from(xs));

describe('streaming reductions', () => {
  it('match direct Float64 computation for any chunking, and merge like concatenation', async () => {
    await fc.assert(
      fc.asyncProperty(values, fc.array(fc.nat(), { maxLength: 5 }), async (xs, cuts) => {
        const chunks = chunked(xs, cuts);
        const stats = await streamStats(chunks);
        let sum = 0;
        let squares = 0;
        for (const x of xs) {
          sum += x;
          squares += x * x;
        }
        expect(stats.count).toBe(xs.length);
        expect(Math.abs(stats.sum - sum)).toBeLessThanOrEqual(1e-9 * (1 + squares));
        expect(Math.abs(stats.sumOfSquares - squares)).toBeLessThanOrEqual(1e-12 * (1 + squares));
        expect(stats.min).toBe(xs.length ? Math.min(...xs) : Infinity);
        expect(stats.max).toBe(xs.length ? Math.max(...xs) : -Infinity);
        expect(stats.absMax).toBe(xs.length ? Math.max(...xs.map(Math.abs)) : 0);
        const merged = chunks.map(chunkStats).reduce(mergeStats, chunkStats(new Float32Array(0)));
        expect(merged.count).toBe(stats.count);
        expect(merged.min).toBe(stats.min);
        expect(Math.abs(merged.sum - stats.sum)).toBeLessThanOrEqual(1e-9 * (1 + squares));
      }),
      { numRuns: 60 },
    );
  });

  it('keeps the sum exact where naive float accumulation loses it (compensation)', () => {
    // 1e8 followed by a million 1s and -1e8: a Float32 running sum would return 0.
    const acc = new StatsAccumulator().add(new Float32Array([1e8]));
    for (let i = 0; i < 10; i++) acc.add(new Float32Array(100_000).fill(1));
    const stats = acc.add(new Float32Array([-1e8])).result();
    expect(stats.sum).toBe(1_000_000);
    expect(meanOfStats(stats)).toBeCloseTo(1_000_000 / 1_000_002, 12);
  });

  it('reports the L2 norm and handles empty input with identities', async () => {
    const xs = new SeededRandom(3).fillGaussian(new Float32Array(5000));
    const stats = chunkStats(xs);
    expect(l2NormOfStats(stats)).toBeCloseTo(Math.sqrt(xs.reduce((s, x) => s + x * x, 0)), 9);
    const empty = await streamStats(async function* () {});
    expect(empty).toEqual({ count: 0, sum: 0, sumOfSquares: 0, min: Infinity, max: -Infinity, absMax: 0 });
    expect(meanOfStats(empty)).toBeNaN();
  });

  it('accepts one-shot generators (single pass) and rejects NaN with its global index', async () => {
    async function* gen() {
      yield new Float32Array([1, 2]);
      yield new Float32Array([3, NaN]);
    }
    await expect(streamStats(gen())).rejects.toThrow(/element 3 is NaN/);
    await expect(streamStats(gen())).rejects.toBeInstanceOf(PatchworkError);
  });
});
