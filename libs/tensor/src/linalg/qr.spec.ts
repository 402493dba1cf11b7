import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { frobeniusNorm, matmul, maxAbsDiff, orthonormalityError } from './dense';
import { qr } from './qr';
import { SeededRandom } from './rng';
import { gaussianMatrix } from './testing';

const EPS = 2.220446049250313e-16;

function checkFactorisation(a: Float64Array, m: number, n: number, mode: 'reduced' | 'complete'): void {
  const { q, r, qColumns } = qr(a, m, n, { mode });
  expect(qColumns).toBe(mode === 'reduced' ? Math.min(m, n) : m);
  expect(q.length).toBe(m * qColumns);
  expect(r.length).toBe(qColumns * n);
  // Backward-stable Householder QR: ||QR - A|| <= c·(m·n)·eps·||A||, ||QᵀQ - I|| <= c·m·eps.
  const scale = Math.max(frobeniusNorm(a), Number.MIN_VALUE);
  expect(frobeniusNorm(subtract(matmul(q, r, m, qColumns, n), a)) / scale).toBeLessThan(10 * (m + n) * EPS);
  expect(orthonormalityError(q, m, qColumns)).toBeLessThan(10 * m * EPS);
  for (let i = 0; i < qColumns; i++) {
    for (let c = 0; c < Math.min(i, n); c++) expect(r[i * n + c]).toBe(0);
    if (i < n) expect(r[i * n + i]).toBeGreaterThanOrEqual(0);
  }
}

function subtract(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((x, i) => x - b[i]);
}

describe('qr', () => {
  it('factors a hand-checked 2 x 1 and 3 x 2 case', () => {
    const small = qr(new Float64Array([3, 4]), 2, 1);
    expect(Array.from(small.q)).toEqual([expect.closeTo(0.6, 15), expect.closeTo(0.8, 15)]);
    expect(Array.from(small.r)).toEqual([expect.closeTo(5, 14)]);

    // Columns (1,0,0) and (1,1,0): Q = first two unit vectors, R = [[1,1],[0,1]].
    const { q, r } = qr(new Float64Array([1, 1, 0, 1, 0, 0]), 3, 2);
    expect(maxAbsDiff(q, [1, 0, 0, 1, 0, 0])).toBeLessThan(1e-15);
    expect(maxAbsDiff(r, [1, 1, 0, 1])).toBeLessThan(1e-15);
  });

  it('satisfies A = QR, QᵀQ = I and the triangular sign convention on random shapes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 14 }),
        fc.integer({ min: 1, max: 14 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom<'reduced' | 'complete'>('reduced', 'complete'),
        (m, n, seed, mode) => checkFactorisation(gaussianMatrix(new SeededRandom(seed), m, n), m, n, mode),
      ),
      { numRuns: 120 },
    );
  });

  it('keeps Q orthonormal for rank-deficient and zero matrices', () => {
    const rng = new SeededRandom(7);
    const m = 9;
    const n = 6;
    const a = gaussianMatrix(rng, m, n);
    for (let i = 0; i < m; i++) {
      a[i * n + 3] = a[i * n + 1]; // duplicated column
      a[i * n + 5] = 0; // zero column
    }
    checkFactorisation(a, m, n, 'reduced');
    checkFactorisation(a, m, n, 'complete');
    checkFactorisation(new Float64Array(12), 4, 3, 'reduced');
  });

  it('is exact on an already triangular matrix with a negative diagonal (sign moved into Q)', () => {
    const { q, r } = qr(new Float64Array([-2, 1, 0, 3]), 2, 2);
    expect(Array.from(q)).toEqual([-1, 0, 0, 1]);
    expect(Array.from(r)).toEqual([2, -1, 0, 3]);
  });

  it('handles entries near the ends of the Float64 range without overflow or underflow', () => {
    for (const scale of [1e-300, 1e300]) {
      const a = gaussianMatrix(new SeededRandom(3), 6, 4).map((x) => x * scale);
      checkFactorisation(a, 6, 4, 'reduced');
    }
  });

  it('accepts Float32Array input and computes in Float64', () => {
    const a32 = Float32Array.from(gaussianMatrix(new SeededRandom(11), 8, 5));
    const { q, r } = qr(a32, 8, 5);
    expect(maxAbsDiff(matmul(q, r, 8, 5, 5), a32)).toBeLessThan(1e-14);
  });

  it('rejects bad shapes, non-finite entries and unknown modes', () => {
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(PatchworkError);
        return (e as PatchworkError).message;
      }
      throw new Error('expected a PatchworkError');
    };
    expect(code(() => qr(new Float64Array(5), 2, 3))).toMatch(/5 elements/);
    expect(code(() => qr(new Float64Array(6), 0, 6))).toMatch(/rows: must be a positive integer/);
    expect(code(() => qr(new Float64Array([1, NaN]), 2, 1))).toMatch(/entry \(1, 0\) is NaN/);
    expect(code(() => qr(new Float64Array([1, 2]), 2, 1, { mode: 'r' as never }))).toMatch(/options.mode/);
    expect(code(() => qr([1, 2] as unknown as Float64Array, 2, 1))).toMatch(/Float32Array or Float64Array/);
  });
});
