import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { quantile, quantileOf } from './quantile';
import type { QuantileMethod } from './quantile-rule';
import { asyncFactory, chunked, sortedAscending } from './testing';

const METHODS: QuantileMethod[] = ['linear', 'lower', 'higher', 'nearest', 'midpoint', 'index'];

/** Straight from the definitions on the sorted array, independent of the selection code. */
function reference(sorted: Float32Array, q: number, method: QuantileMethod): number {
  const n = sorted.length;
  if (method === 'index') return sorted[Math.min(Math.floor(n * q), n - 1)];
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  if (method === 'lower') return sorted[lo];
  if (method === 'higher') return sorted[hi];
  if (method === 'midpoint') return (sorted[lo] + sorted[hi]) / 2;
  if (method === 'nearest') {
    const frac = h - lo;
    return sorted[frac < 0.5 ? lo : frac > 0.5 ? hi : lo % 2 === 0 ? lo : hi];
  }
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo);
}

const finiteValues = fc
  .array(fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), fc.constantFrom(0, -0, 1, 3)), { minLength: 1, maxLength: 150 })
  .map((xs) => Float32Array.from(xs));

describe('quantile', () => {
  it('reproduces numpy.quantile on hand-checked cases for every method', async () => {
    const x = new Float32Array([4, 1, 3, 2]);
    // numpy.quantile([1, 2, 3, 4], 0.5, method=...) and q = 0.1.
    const expected: Record<string, [number, number]> = {
      linear: [2.5, 1.3],
      lower: [2, 1],
      higher: [3, 2],
      nearest: [3, 1],
      midpoint: [2.5, 1.5],
      index: [3, 1],
    };
    for (const method of METHODS) {
      expect(quantileOf(x, 0.5, { method })).toBeCloseTo(expected[method][0], 12);
      expect(await quantile([x.subarray(0, 1), x.subarray(1)], 0.1, { method })).toBeCloseTo(expected[method][1], 12);
    }
    // numpy rounds h = 2.5 half to even: quantile(arange(6), 0.5, method='nearest') == 2.
    expect(quantileOf(Float32Array.from([0, 1, 2, 3, 4, 5]), 0.5, { method: 'nearest' })).toBe(2);
    expect(quantileOf(Float32Array.from([5, -7, 1]), 1)).toBe(5);
    expect(quantileOf(Float32Array.from([5, -7, 1]), 0)).toBe(-7);
  });

  it('equals the sorted-array definition, streaming and in memory, for random data', async () => {
    await fc.assert(
      fc.asyncProperty(
        finiteValues,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(...METHODS),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (values, q, method, abs, cuts) => {
          const want = reference(sortedAscending(values, abs), q, method);
          const tol = 1e-12 * Math.max(1, Math.abs(want));
          expect(Math.abs(quantileOf(values, q, { method, abs }) - want)).toBeLessThanOrEqual(tol);
          expect(Math.abs((await quantile(asyncFactory(chunked(values, cuts)), q, { method, abs })) - want)).toBeLessThanOrEqual(tol);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is monotone in q', () => {
    fc.assert(
      fc.property(finiteValues, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (values, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(quantileOf(values, lo)).toBeLessThanOrEqual(quantileOf(values, hi));
      }),
    );
  });

  it('keeps infinities at the ends without producing NaN when both neighbours are infinite', () => {
    const x = new Float32Array([Infinity, Infinity, 1]);
    expect(quantileOf(x, 0.75)).toBe(Infinity);
  });

  it('rejects q outside [0, 1], unknown methods and NaN data', async () => {
    const codeOf = async (p: () => unknown): Promise<string> => {
      try {
        await p();
      } catch (e) {
        return (e as PatchworkError).code;
      }
      return 'none';
    };
    expect(await codeOf(() => quantileOf(new Float32Array([1]), 1.5))).toBe('OUT_OF_RANGE');
    expect(await codeOf(() => quantile([new Float32Array([1])], -0.1))).toBe('OUT_OF_RANGE');
    expect(await codeOf(() => quantileOf(new Float32Array([1]), Number.NaN))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => quantileOf(new Float32Array([1]), 0.5, { method: 'hazen' as never }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => quantile([new Float32Array([1, NaN])], 0.5))).toBe('INVALID_ARGUMENT');
  });
});
