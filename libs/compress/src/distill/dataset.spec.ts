import { assertNoLeaks, initBackend, tf } from '@patchwork/tensor';
import { tensorDataset } from './dataset';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('tensorDataset', () => {
  it('gathers the requested rows of every tensor', async () => {
    const ds = tensorDataset({ inputIds: tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'), labels: tf.tensor1d([7, 8, 9], 'int32') });
    expect(ds.size).toBe(3);
    await assertNoLeaks(() => {
      const batch = tf.tidy(() => {
        const b = ds.batch([2, 0]);
        return [b.inputs.inputIds as tf.Tensor, b.labels as tf.Tensor];
      });
      expect(batch[0].arraySync()).toEqual([[5, 6], [1, 2]]);
      expect(batch[1].arraySync()).toEqual([9, 7]);
      tf.dispose(batch);
    });
    ds.dispose();
    expect(() => ds.batch([0])).toThrow(/disposed/);
  });

  it('rejects inconsistent or unusable tensors', () => {
    const ids = tf.zeros([3, 2], 'int32');
    expect(() => tensorDataset({ labels: ids })).toThrow(/inputIds or pixelValues/);
    const short = tf.zeros([2], 'int32');
    expect(() => tensorDataset({ inputIds: ids, labels: short })).toThrow(/labels: has 2 rows, expected 3/);
    const floats = tf.zeros([3, 2]);
    expect(() => tensorDataset({ inputIds: floats })).toThrow(/inputIds: must be int32/);
    tf.dispose([ids, short, floats]);
  });
});
