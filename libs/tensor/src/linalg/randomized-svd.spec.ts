import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { assertNoLeaks } from '../memory';
import { describeEachBackend } from '../testing';
import { frobeniusNorm, maxAbsDiff, orthonormalityError } from './dense';
import { randomizedSvd, type RandomizedSvdResult } from './randomized-svd';
import { SeededRandom } from './rng';
import { svd } from './svd';
import { matrixWithSpectrum, reconstruct } from './testing';

const SPECTRA: Record<string, (i: number) => number> = {
  geometric: (i) => 0.9 ** i,
  harmonic: (i) => 1 / (i + 1),
  quadratic: (i) => (i + 1) ** -2,
  slow: (i) => (i + 1) ** -0.5,
};

interface Case {
  a: Float64Array;
  sigma: Float64Array;
  m: number;
  n: number;
}

function makeCase(seed: number, m: number, n: number, decay: (i: number) => number): Case {
  const sigma = Float64Array.from({ length: Math.min(m, n) }, (_, i) => decay(i));
  return { a: matrixWithSpectrum(new SeededRandom(seed), m, n, sigma), sigma, m, n };
}

function optimalError(sigma: Float64Array, k: number): number {
  let tail = 0;
  for (let i = k; i < sigma.length; i++) tail += sigma[i] ** 2;
  return Math.sqrt(tail);
}

function actualError(c: Case, r: RandomizedSvdResult): number {
  return frobeniusNorm(reconstruct(r.u, r.s, r.v, c.m, c.n, r.k).map((x, i) => c.a[i] - x));
}

async function run(c: Case, options: Parameters<typeof randomizedSvd>[1]): Promise<RandomizedSvdResult> {
  const t = tf.tensor2d(Float32Array.from(c.a), [c.m, c.n]);
  try {
    return await randomizedSvd(t, options);
  } finally {
    t.dispose();
  }
}

describeEachBackend('randomizedSvd', () => {
  it('stays within 5% of the Eckart–Young optimum with the defaults (p = 10, q = 2) on decaying spectra', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(SPECTRA)),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.boolean(),
        async (spectrum, k, seed, wide) => {
          const c = makeCase(seed, wide ? 80 : 130, wide ? 130 : 80, SPECTRA[spectrum]);
          const r = await assertNoLeaks(() => run(c, { k, seed }));
          const ratio = actualError(c, r) / optimalError(c.sigma, k);
          expect(ratio).toBeLessThanOrEqual(1.05);
          expect(ratio).toBeGreaterThanOrEqual(1 - 1e-4); // nothing beats Eckart–Young (float32 noise aside)
          expect(orthonormalityError(r.u, c.m, k)).toBeLessThan(1e-12);
          expect(orthonormalityError(r.v, c.n, k)).toBeLessThan(1e-12);
          for (let j = 1; j < k; j++) expect(r.s[j]).toBeLessThanOrEqual(r.s[j - 1]);
        },
      ),
      { numRuns: 6 },
    );
  });

  it('without power iterations (q = 0) obeys the Halko–Martinsson–Tropp factor (1 + k/(p−1))^½', async () => {
    for (const [spectrum, k, p] of [
      ['harmonic', 20, 10],
      ['quadratic', 10, 5],
      ['slow', 30, 10],
    ] as const) {
      const c = makeCase(k, 150, 100, SPECTRA[spectrum]);
      const r = await run(c, { k, oversamples: p, powerIterations: 0, seed: 1 });
      expect(r.sketchSize).toBe(k + p);
      expect(actualError(c, r) / optimalError(c.sigma, k)).toBeLessThanOrEqual(Math.sqrt(1 + k / (p - 1)));
    }
  });

  it('reports an a-posteriori error equal to the measured ‖A − U S Vᵀ‖_F', async () => {
    for (const [spectrum, k] of [
      ['geometric', 8],
      ['harmonic', 25],
      ['slow', 3],
    ] as const) {
      const c = makeCase(99, 120, 80, SPECTRA[spectrum]);
      const r = await run(c, { k, powerIterations: 1 });
      const actual = actualError(c, r);
      const err = r.error as NonNullable<RandomizedSvdResult['error']>;
      expect(Math.abs(err.frobenius - actual)).toBeLessThanOrEqual(1e-4 * actual + 1e-6 * err.normA);
      expect(err.normA).toBeCloseTo(frobeniusNorm(c.a), 5);
      expect(err.relative).toBeCloseTo(err.frobenius / err.normA, 12);
    }
    expect((await run(makeCase(1, 20, 10, SPECTRA.slow), { k: 2, computeError: false })).error).toBeNull();
  });

  it('gives the same norm and error when the squaring passes run in row blocks', async () => {
    const c = makeCase(8, 70, 50, SPECTRA.harmonic);
    const whole = await run(c, { k: 5 });
    // 8 rows per block: eight full blocks and a short one of 6 rows.
    const blocked = await assertNoLeaks(() => run(c, { k: 5, blockElements: 8 * 50 + 3 }));
    const [e1, e2] = [whole.error, blocked.error] as NonNullable<RandomizedSvdResult['error']>[];
    expect(e2.normA).toBeCloseTo(e1.normA, 5);
    expect(Math.abs(e2.frobenius - e1.frobenius)).toBeLessThan(1e-5 * e1.normA);
    expect(Math.abs(e2.frobenius - actualError(c, blocked))).toBeLessThan(1e-4 * e2.frobenius);
    expect(Array.from(blocked.s)).toEqual(Array.from(whole.s));
  });

  it('is exact (to float32) when the sketch spans the whole space, and deterministic per seed', async () => {
    const c = makeCase(5, 40, 24, SPECTRA.harmonic);
    const r = await run(c, { k: 20, oversamples: 10 });
    expect(r.sketchSize).toBe(24);
    const exact = svd(Float32Array.from(c.a), c.m, c.n, { k: 20 });
    expect(maxAbsDiff(r.s, exact.s)).toBeLessThan(1e-5);
    const optimum = optimalError(c.sigma, 20);
    expect(Math.abs((r.error as NonNullable<RandomizedSvdResult['error']>).frobenius - optimum)).toBeLessThan(1e-4 * optimum);
    const again = await run(c, { k: 20, oversamples: 10 });
    expect(Array.from(again.u)).toEqual(Array.from(r.u));
    expect(Array.from(again.s)).toEqual(Array.from(r.s));
  });

  it('returns orthonormal factors for a rank-deficient matrix and zero trailing singular values', async () => {
    const c = makeCase(3, 50, 30, (i) => (i < 3 ? 3 - i : 0));
    const r = await run(c, { k: 6 });
    expect(maxAbsDiff(r.s.subarray(0, 3), [3, 2, 1])).toBeLessThan(1e-5);
    expect(Math.max(...r.s.subarray(3))).toBeLessThan(1e-5);
    expect(orthonormalityError(r.u, 50, 6)).toBeLessThan(1e-12);
    expect(orthonormalityError(r.v, 30, 6)).toBeLessThan(1e-12);
  });

  it('accepts int32 tensors', async () => {
    const t = tf.tensor2d([3, 0, 0, 0, -2, 0], [2, 3], 'int32');
    const r = await randomizedSvd(t, { k: 2 });
    t.dispose();
    expect(maxAbsDiff(r.s, [3, 2])).toBeLessThan(1e-6);
  });

  it('rejects bad input and cancels without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const good = tf.zeros([6, 4]) as tf.Tensor2D;
    const codeOf = async (fn: () => Promise<unknown>): Promise<string> => {
      try {
        await fn();
      } catch (e) {
        expect(e).toBeInstanceOf(PatchworkError);
        return `${(e as PatchworkError).code} ${(e as PatchworkError).message}`;
      }
      return 'resolved';
    };
    expect(await codeOf(() => randomizedSvd(good, { k: 5 }))).toMatch(/^OUT_OF_RANGE options.k/);
    expect(await codeOf(() => randomizedSvd(good, { k: 2, oversamples: -1 }))).toMatch(/^OUT_OF_RANGE options.oversamples/);
    expect(await codeOf(() => randomizedSvd(good, { k: 2, seed: 0.5 }))).toMatch(/^INVALID_ARGUMENT seed/);
    expect(await codeOf(() => randomizedSvd(good, { k: 2, blockElements: 0 }))).toMatch(/^OUT_OF_RANGE options.blockElements/);
    const cube = tf.zeros([2, 2, 2]);
    expect(await codeOf(() => randomizedSvd(cube as tf.Tensor2D, { k: 1 }))).toMatch(/rank 2/);
    cube.dispose();
    const withNaN = tf.tensor2d([1, NaN, 0, 1], [2, 2]);
    expect(await codeOf(() => randomizedSvd(withNaN, { k: 1 }))).toMatch(/^INVALID_ARGUMENT matrix: contains NaN/);
    withNaN.dispose();
    const controller = new AbortController();
    controller.abort();
    expect(await codeOf(() => randomizedSvd(good, { k: 2, signal: controller.signal }))).toMatch(/^CANCELLED/);
    good.dispose();
    expect(await codeOf(() => randomizedSvd(good, { k: 2 }))).toMatch(/already been disposed/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
