import { assertNoLeaks, describeEachBackend, tf } from '@patchwork/tensor';
import { featureDistillationLoss, weightPerturbationLoss } from './losses';

const value = (t: tf.Tensor): number => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

describeEachBackend('distillation losses', () => {
  it('FD is the mean over feature maps of each map’s mean squared difference', async () => {
    await assertNoLeaks(() => {
      const s = [tf.tensor3d([[[1, 2], [3, 4]]]), tf.tensor3d([[[0, 0], [0, 0]]])];
      const t = [tf.tensor3d([[[0, 2], [3, 1]]]), tf.tensor3d([[[1, 1], [1, 1]]])];
      // Map 1: (1 + 0 + 0 + 9) / 4 = 2.5; map 2: 1; mean 1.75.
      expect(value(featureDistillationLoss(s, t))).toBeCloseTo(1.75, 6);
      // Token 1 is padding: map 1 keeps (1 + 0) / 2 = 0.5, map 2 keeps 1; mean 0.75.
      const mask = tf.tensor2d([[1, 0]], [1, 2], 'int32');
      expect(value(featureDistillationLoss(s, t, mask))).toBeCloseTo(0.75, 6);
      const none = tf.tensor2d([[0, 0]], [1, 2], 'int32');
      expect(value(featureDistillationLoss(s, t, none))).toBe(0);
      tf.dispose([...s, ...t, mask, none]);
    });
  });

  it('WP is the mean over layers of (max|down·up − W| − eps)², or its hinge', async () => {
    await assertNoLeaks(() => {
      const layers = [
        // down·up = [[1, 1], [2, 2]]; W differs by 0.5 and −0.25, so d = 0.5.
        { down: tf.tensor2d([[1], [2]]), up: tf.tensor2d([[1, 1]]), kernel: tf.tensor2d([[1, 0.5], [2, 2.25]]) },
        // An exact layer: d = 0.
        { down: tf.tensor2d([[0.5]]), up: tf.tensor2d([[0.5]]), kernel: tf.tensor2d([[0.25]]) },
      ];
      // (0.4² + 0.1²) / 2: PELA's code pulls d = 0 up toward eps too.
      expect(value(weightPerturbationLoss(layers, 0.1))).toBeCloseTo(0.085, 6);
      expect(value(weightPerturbationLoss(layers, 0.1, 'hinge'))).toBeCloseTo(0.08, 6);
      expect(value(weightPerturbationLoss(layers, 0))).toBeCloseTo(0.125, 6);
      tf.dispose(layers.flatMap((l) => [l.down, l.up, l.kernel]));
    });
  });

  it('WP sends gradient only through the largest entry error', () => {
    const down = tf.tensor2d([[1], [2]]);
    const up = tf.tensor2d([[1, 1]]);
    const kernel = tf.tensor2d([[1, 0.5], [2, 2.25]]);
    const other = { down: tf.tensor2d([[0.5]]), up: tf.tensor2d([[0.5]]), kernel: tf.tensor2d([[0.25]]) };
    // dL/dP01 = 2·(0.5 − 0.1)/2 layers = 0.4; d/d down = dP·upᵀ, d/d up = downᵀ·dP.
    const [gDown, gUp] = tf.grads((d: tf.Tensor, u: tf.Tensor) => weightPerturbationLoss([{ down: d, up: u, kernel }, other], 0.1))([down, up]);
    expect(Array.from(gDown.dataSync())).toEqual([expect.closeTo(0.4, 6), 0]);
    expect(Array.from(gUp.dataSync())).toEqual([0, expect.closeTo(0.4, 6)]);
    tf.dispose([down, up, kernel, other.down, other.up, other.kernel, gDown, gUp]);
  });

  it('rejects mismatched inputs by name', () => {
    const a = tf.zeros([1, 2, 3]);
    const b = tf.zeros([1, 2, 4]);
    expect(() => featureDistillationLoss([a], [b])).toThrow(/features\[0\]: student shape \[1, 2, 3\] differs/);
    expect(() => featureDistillationLoss([a], [])).toThrow(/same non-zero number/);
    const badMask = tf.zeros([2, 2]);
    expect(() => featureDistillationLoss([a], [a], badMask)).toThrow(/mask: must be \[batch, tokens\]/);
    expect(() => weightPerturbationLoss([], 0)).toThrow(/at least one factored layer/);
    expect(() => weightPerturbationLoss([{ down: a, up: a, kernel: a }], -1)).toThrow(/eps: must be a finite number >= 0/);
    tf.dispose([a, b, badMask]);
  });
});
