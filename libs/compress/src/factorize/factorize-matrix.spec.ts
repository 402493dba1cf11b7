import { assertNoLeaks, describeEachBackend, SeededRandom, svd, tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { eckartYoung, matrixWithSpectrum } from '../testing/spectrum';
import { factorizeMatrix } from './factorize-matrix';

const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

function frobenius(t: tf.Tensor): number {
  const n = tf.tidy(() => tf.norm(t));
  const v = n.dataSync()[0];
  n.dispose();
  return v;
}

describeEachBackend('factorizeMatrix', () => {
  // A decaying spectrum like trained weights: 48 x 80, full rank 48.
  const rows = 48;
  const cols = 80;
  const spectrum = Array.from({ length: rows }, (_, i) => 3 * Math.exp(-i / 12) + 0.05);
  let w: tf.Tensor2D;

  beforeAll(() => {
    w = tf.tensor2d(matrixWithSpectrum(rows, cols, spectrum, 7), [rows, cols]);
  });
  afterAll(() => w.dispose());

  it('reaches the Eckart–Young optimum with the exact SVD (within 1e-4 relative) and reports it', async () => {
    for (const rank of [1, 8, 20, 29, 47]) {
      const f = await assertNoLeaks(() => factorizeMatrix(w, { rank }));
      const optimum = eckartYoung(spectrum, rank);
      expect(relDiff(f.error.relative, optimum)).toBeLessThan(1e-4);
      expect(relDiff(f.optimalRelError as number, optimum)).toBeLessThan(1e-5);
      f.singularValues.forEach((s, i) => expect(relDiff(s, spectrum[i])).toBeLessThan(1e-5));
      expect(f.u.shape).toEqual([rows, rank]);
      expect(f.v.shape).toEqual([rank, cols]);
      tf.dispose([f.u, f.v]);
    }
  });

  it('splits the singular values symmetrically: uᵀu = v·vᵀ = diag(σ), so ‖u‖_F = ‖v‖_F', async () => {
    const rank = 12;
    const f = await factorizeMatrix(w, { rank });
    const [gu, gv] = tf.tidy(() => [tf.matMul(f.u, f.u, true, false), tf.matMul(f.v, f.v, false, true)]);
    const a = gu.arraySync() as number[][];
    const b = gv.arraySync() as number[][];
    for (let i = 0; i < rank; i++) {
      for (let j = 0; j < rank; j++) {
        const expected = i === j ? spectrum[i] : 0;
        expect(Math.abs(a[i][j] - expected)).toBeLessThan(1e-5 * spectrum[0]);
        expect(Math.abs(b[i][j] - expected)).toBeLessThan(1e-5 * spectrum[0]);
      }
    }
    expect(relDiff(frobenius(f.u), frobenius(f.v))).toBeLessThan(1e-6);
    tf.dispose([f.u, f.v, gu, gv]);
  });

  it('reproduces the matrix at full rank', async () => {
    const f = await factorizeMatrix(w, { rank: rows });
    expect(f.optimalRelError).toBe(0);
    expect(f.error.relative).toBeLessThan(1e-6);
    tf.dispose([f.u, f.v]);
  });

  it('matches the optimum from an independent full SVD on random matrices of any shape', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 20 }), fc.integer({ min: 2, max: 20 }), fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }), async (m, n, seed, at) => {
        const data = new SeededRandom(seed).fillGaussian(new Float32Array(m * n));
        const rank = 1 + Math.floor(at * (Math.min(m, n) - 1));
        const s = Array.from(svd(data, m, n).s);
        const x = tf.tensor2d(data, [m, n]);
        const f = await factorizeMatrix(x, { rank });
        const optimum = eckartYoung(s, rank);
        if (optimum > 1e-3) expect(relDiff(f.error.relative, optimum)).toBeLessThan(1e-4);
        else expect(f.error.relative).toBeLessThan(1e-5);
        tf.dispose([x, f.u, f.v]);
      }),
      { numRuns: 25 },
    );
  });

  it('randomized: never beats the optimum, stays close to it, and reports it only when asked', async () => {
    const rank = 16;
    const optimum = eckartYoung(spectrum, rank);
    const f = await assertNoLeaks(() => factorizeMatrix(w, { rank, svd: 'randomized' }));
    expect(f.optimalRelError).toBeNull();
    expect(f.error.relative).toBeGreaterThan(optimum * (1 - 1e-5));
    expect(f.error.relative).toBeLessThan(optimum * 1.05);
    const g = await factorizeMatrix(w, { rank, svd: 'randomized', measureOptimal: true, randomized: { powerIterations: 0, oversamples: 2, seed: 3 } });
    expect(relDiff(g.optimalRelError as number, optimum)).toBeLessThan(1e-5);
    expect(g.error.relative).toBeGreaterThanOrEqual(f.error.relative * (1 - 1e-6));
    tf.dispose([f.u, f.v, g.u, g.v]);
  });

  it('rejects a rank outside [1, min(rows, cols)] and an unknown method', async () => {
    await expect(factorizeMatrix(w, { rank: 0 })).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await expect(factorizeMatrix(w, { rank: rows + 1 })).rejects.toThrow(/rank: must be an integer in \[1, 48\]/);
    await expect(factorizeMatrix(w, { rank: 2, svd: 'lapack' as never })).rejects.toThrow(/svd: must be one of exact, randomized/);
  });
});
