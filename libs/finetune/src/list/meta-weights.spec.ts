import { tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { useWasmBackend } from '../testing/backend';
import { META_WEIGHT_DELTA, metaWeights } from './meta-weights';

useWasmBackend();

/**
 * Squared errors of a linear model, ℓ_i = (x_i·w − y_i)², whose gradients 2(x_i·w − y_i)x_i are
 * known in closed form: the meta weights must equal max(η⟨g_lab, g_i⟩, 0) / (Σ + δ).
 */
describe('metaWeights', () => {
  it('equals the first-order meta-gradient weights of the LiST paper', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 1e-3, max: 1, noNaN: true }), (seed, lr) => {
        const d = 4;
        const B = 6;
        const rand = (shape: number[], s: number) => tf.randomNormal(shape, 0, 1, 'float32', s);
        const w = tf.variable(rand([d], seed), true);
        const X = rand([B, d], seed + 1);
        const y = rand([B], seed + 2);
        const Xl = rand([3, d], seed + 3);
        const yl = rand([3], seed + 4);
        const residual = (x: tf.Tensor, t: tf.Tensor) => tf.sub(tf.sum(tf.mul(x, w), 1), t);
        const weights = metaWeights({
          vars: [w],
          labelledLoss: () => tf.mean(tf.square(residual(Xl, yl))) as tf.Scalar,
          perExampleLoss: () => tf.square(residual(X, y)),
          lr,
        });
        const expected = tf.tidy(() => {
          const gLab = tf.div(tf.matMul(tf.mul(residual(Xl, yl), 2).reshape([1, 3]), Xl), 3).reshape([d]);
          const gi = tf.mul(tf.mul(residual(X, y), 2).reshape([B, 1]), X);
          const raw = tf.relu(tf.mul(tf.sum(tf.mul(gi, gLab), 1), lr));
          return tf.div(raw, tf.add(tf.sum(raw), META_WEIGHT_DELTA)).dataSync();
        });
        const before = Array.from(w.dataSync());
        weights.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(2e-3));
        expect(weights.every((v) => v >= 0)).toBe(true);
        expect(weights.reduce((s, v) => s + v, 0)).toBeLessThanOrEqual(1 + 1e-5);
        // The parameters are restored exactly.
        expect(Array.from(w.dataSync())).toEqual(before);
        tf.dispose([w, X, y, Xl, yl]);
      }),
      { numRuns: 15 },
    );
  });

  it('gives all-zero weights when no example helps the labelled loss', () => {
    const w = tf.variable(tf.tensor1d([1, 1]), true);
    const weights = metaWeights({
      vars: [w],
      labelledLoss: () => tf.sum(w) as tf.Scalar,
      // Every example's loss falls as w grows, against the labelled gradient direction (+1, +1).
      perExampleLoss: () => tf.mul(tf.sum(w), tf.tensor1d([-1, -2, -3])),
      lr: 0.1,
    });
    expect(Array.from(weights)).toEqual([0, 0, 0]);
    w.dispose();
  });
});
