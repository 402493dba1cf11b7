import { assertNoLeaks, describeEachBackend, tf } from '@patchwork/tensor';
import { outsideTape } from './outside-tape';

describeEachBackend('outsideTape', () => {
  it('returns the values of fn with their shapes', async () => {
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    await assertNoLeaks(() => {
      const [a, b] = outsideTape(() => [tf.mul(x, 2), tf.sum(x, 1)]);
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.dataSync())).toEqual([2, 4, 6, 8, 10, 12]);
      expect(b.shape).toEqual([2]);
      expect(Array.from(b.dataSync())).toEqual([6, 15]);
      tf.dispose([a, b]);
    });
    x.dispose();
  });

  it('keeps gradients from flowing into fn and tapes none of its kernels', () => {
    const w = tf.variable(tf.tensor1d([0.5, -1, 2]), true, 'outside-tape-w');
    const frozen = tf.variable(tf.tensor1d([1, 2, 3]), true, 'outside-tape-frozen');
    const big = tf.randomNormal([64, 64], 0, 1, 'float32', 3);
    // Inside the tape, a chain of matMuls on `big` would save every intermediate; outside it saves nothing.
    let bytesAfterForward = 0;
    let bytesAtStart = 0;
    const { value, grads } = tf.variableGrads(() => {
      bytesAtStart = tf.memory().numBytes;
      const [features] = outsideTape(() => {
        let h = big;
        for (let i = 0; i < 8; i++) h = tf.tanh(tf.matMul(h, big));
        return [tf.mul(tf.sum(h), frozen)];
      });
      bytesAfterForward = tf.memory().numBytes;
      return tf.sum(tf.mul(features, w)) as tf.Scalar;
    }, [w, frozen]);
    // Only the 3-element result (plus the loss graph's tiny tensors) was added during the forward.
    expect(bytesAfterForward - bytesAtStart).toBeLessThan(64 * 4);
    expect(grads[w.name]).toBeDefined();
    expect(grads[frozen.name] ?? null).toBeNull();
    tf.dispose([value, ...Object.values(grads).filter((g): g is tf.Tensor => g != null), w, frozen, big]);
  });

  it('gives the same gradient for parameters used after it as a plain forward', () => {
    const w = tf.variable(tf.tensor2d([[0.3, -0.2], [0.1, 0.4]]), true, 'outside-tape-w2');
    const x = tf.tensor2d([[1, 2], [3, -1]]);
    const loss = (h: tf.Tensor) => tf.sum(tf.square(tf.matMul(h, w))) as tf.Scalar;
    const plain = tf.variableGrads(() => loss(tf.relu(tf.mul(x, 1.5))), [w]);
    const cut = tf.variableGrads(() => loss(outsideTape(() => [tf.relu(tf.mul(x, 1.5))])[0]), [w]);
    expect(Array.from(cut.grads[w.name].dataSync())).toEqual(Array.from(plain.grads[w.name].dataSync()));
    tf.dispose([plain.value, cut.value, plain.grads[w.name], cut.grads[w.name], w, x]);
  });
});
