import * as tf from '@tensorflow/tfjs';
import { PatchworkError } from '@patchwork/errors';
import { assertNoLeaks } from '../memory';
import { describeEachBackend } from '../testing';
import { maxAbsDiff, orthonormalityError } from './dense';
import { qr } from './qr';
import { qrTensor } from './qr-tensor';
import { SeededRandom } from './rng';
import { gaussianMatrix } from './testing';

describeEachBackend('qrTensor', () => {
  it('returns the Float64 factorisation rounded to float32, without leaking', async () => {
    const values = Float32Array.from(gaussianMatrix(new SeededRandom(4), 12, 7));
    const x = tf.tensor2d(values, [12, 7]);
    for (const mode of ['reduced', 'complete'] as const) {
      const { q, r } = await assertNoLeaks(() => qrTensor(x, { mode }));
      const want = qr(values, 12, 7, { mode });
      expect(q.shape).toEqual([12, want.qColumns]);
      expect(r.shape).toEqual([want.qColumns, 7]);
      const qValues = await q.data();
      expect(maxAbsDiff(qValues, want.q)).toBeLessThan(1e-7);
      expect(maxAbsDiff(await r.data(), want.r)).toBeLessThan(1e-6);
      expect(orthonormalityError(Float64Array.from(qValues), 12, want.qColumns)).toBeLessThan(1e-6);
      tf.dispose([q, r]);
    }
    x.dispose();
  });

  it('rejects tensors that are not rank-2', async () => {
    const v = tf.zeros([3]);
    await expect(qrTensor(v as tf.Tensor2D)).rejects.toBeInstanceOf(PatchworkError);
    await expect(qrTensor(v as tf.Tensor2D)).rejects.toThrow(/rank 2/);
    v.dispose();
  });
});
