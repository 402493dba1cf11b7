import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { kthLargest, kthSmallest, selectInPlace } from './kth-select';
import { float32Values, sortedAscending } from './testing';

describe('kthLargest / kthSmallest (in memory)', () => {
  it('agree with a full sort for every k, by value and by magnitude, ties and signed zeros included', () => {
    fc.assert(
      fc.property(float32Values(), fc.boolean(), (values, abs) => {
        const copy = values.slice();
        const sorted = sortedAscending(values, abs);
        for (let k = 1; k <= values.length; k++) {
          expect(Object.is(kthLargest(values, k, { abs }), sorted[values.length - k])).toBe(true);
          expect(Object.is(kthSmallest(values, k, { abs }), sorted[k - 1])).toBe(true);
        }
        expect(values).toEqual(copy); // input untouched
      }),
      { numRuns: 60 },
    );
  });

  it('ranks -0 just below +0 and returns +0 for the magnitude of -0', () => {
    const values = new Float32Array([0, -0, -0, 0, -1]);
    expect(Object.is(kthLargest(values, 2), 0)).toBe(true);
    expect(Object.is(kthLargest(values, 3), -0)).toBe(true);
    expect(Object.is(kthSmallest(new Float32Array([-0]), 1, { abs: true }), 0)).toBe(true);
  });

  it('selects correctly on large inputs with heavy ties (three-way partition) and adversarial order', () => {
    const n = 200_000;
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = (i * 7919) % 13; // 13 distinct values
    const sorted = values.slice().sort();
    for (const k of [1, 2, 1000, n / 2, n - 1, n]) expect(kthLargest(values, k)).toBe(sorted[n - k]);
    const ascending = Float32Array.from({ length: n }, (_, i) => i);
    expect(kthSmallest(ascending, 12345)).toBe(12344);
    expect(kthLargest(ascending.reverse(), 3)).toBe(n - 3);
  });

  it('leaves the key array partitioned around the selected rank', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 400 }), fc.nat(), (xs, r) => {
        const keys = Uint32Array.from(xs);
        const rank = r % keys.length;
        const key = selectInPlace(keys, rank);
        expect(keys[rank]).toBe(key);
        for (let i = 0; i < rank; i++) expect(keys[i]).toBeLessThanOrEqual(key);
        for (let i = rank + 1; i < keys.length; i++) expect(keys[i]).toBeGreaterThanOrEqual(key);
      }),
    );
  });

  it('rejects NaN (policy: INVALID_ARGUMENT naming the element), empty input and k out of range', () => {
    const err = (fn: () => unknown): PatchworkError => {
      try {
        fn();
      } catch (e) {
        if (e instanceof PatchworkError) return e;
        throw e;
      }
      throw new Error('expected a PatchworkError');
    };
    const nan = err(() => kthLargest(new Float32Array([1, 2, NaN]), 1));
    expect(nan.code).toBe('INVALID_ARGUMENT');
    expect(nan.message).toMatch(/element 2 is NaN/);
    expect(err(() => kthLargest(new Float32Array(0), 1)).code).toBe('OUT_OF_RANGE');
    expect(err(() => kthLargest(new Float32Array(3), 4)).code).toBe('OUT_OF_RANGE');
    expect(err(() => kthSmallest(new Float32Array(3), 0)).code).toBe('OUT_OF_RANGE');
    expect(err(() => kthSmallest(new Float32Array(3), 1.5)).code).toBe('INVALID_ARGUMENT');
    expect(err(() => kthSmallest([1, 2] as unknown as Float32Array, 1)).code).toBe('INVALID_ARGUMENT');
  });
});
