import { tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { maxAbsDiff } from '../testing/fixtures';
import { FLOAT32_MIN, additiveAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from './attention';

describe('additiveAttentionMask', () => {
  it('is 0 where a query may attend and the float32 minimum elsewhere (causal + padding)', () => {
    const padding = tf.tensor2d([[1, 1, 0], [0, 1, 1]], undefined, 'int32');
    const mask = additiveAttentionMask(2, 3, padding, true) as tf.Tensor;
    const v = mask.arraySync() as number[][][][];
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const allowed = j <= i && (b === 0 ? [1, 1, 0] : [0, 1, 1])[j] === 1;
          expect(v[b][0][i][j]).toBe(allowed ? 0 : FLOAT32_MIN);
        }
      }
    }
    expect(FLOAT32_MIN).toBe(Math.fround(FLOAT32_MIN));
    tf.dispose([padding, mask]);
  });

  it('masks only padding keys for an encoder and is absent when there is nothing to mask', () => {
    const padding = tf.tensor2d([[1, 0]], undefined, 'bool');
    const mask = additiveAttentionMask(1, 2, padding, false) as tf.Tensor;
    expect(mask.arraySync()).toEqual([[[[0, FLOAT32_MIN], [0, FLOAT32_MIN]]]]);
    expect(additiveAttentionMask(1, 2, undefined, false)).toBeUndefined();
    tf.dispose([padding, mask]);
  });
});

/** Attention with key/value heads explicitly repeated, as transformers' repeat_kv does. */
function naiveAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor | undefined, scale: number): tf.Tensor {
  return tf.tidy(() => {
    const groups = q.shape[1]! / k.shape[1]!;
    const repeat = (t: tf.Tensor): tf.Tensor => tf.concat(tf.unstack(t, 1).flatMap((head) => Array.from({ length: groups }, () => head.expandDims(1))), 1);
    let scores = tf.mul(tf.matMul(q, repeat(k), false, true), scale);
    if (mask !== undefined) scores = tf.add(scores, mask);
    return tf.matMul(tf.softmax(scores), repeat(v));
  });
}

describe('scaledDotProductAttention', () => {
  it('equals attention with repeated key/value heads for any grouping', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        (batch, kvHeads, groups, length, seed) => {
          tf.tidy(() => {
            const q = tf.randomNormal([batch, kvHeads * groups, length, 4], 0, 1, 'float32', seed);
            const k = tf.randomNormal([batch, kvHeads, length, 4], 0, 1, 'float32', seed + 1);
            const v = tf.randomNormal([batch, kvHeads, length, 4], 0, 1, 'float32', seed + 2);
            const mask = additiveAttentionMask(batch, length, tf.ones([batch, length]), true);
            expect(maxAbsDiff(scaledDotProductAttention(q, k, v, mask, 0.5), naiveAttention(q, k, v, mask, 0.5))).toBeLessThan(1e-5);
          });
        },
      ),
      { numRuns: 30 },
    );
  });

  it('gives a query with no allowed key the uniform average, as eager transformers does', () => {
    tf.tidy(() => {
      const q = tf.randomNormal([1, 1, 2, 2], 0, 1, 'float32', 1);
      const k = tf.randomNormal([1, 1, 2, 2], 0, 1, 'float32', 2);
      const v = tf.tensor4d([[[[1, 2], [3, 6]]]]);
      const mask = additiveAttentionMask(1, 2, tf.tensor2d([[0, 1]]), true) as tf.Tensor;
      const out = scaledDotProductAttention(q, k, v, mask, 1).arraySync() as number[][][][];
      expect(out[0][0][0]).toEqual([2, 4]);
      expect(out[0][0][1]).toEqual([3, 6]);
    });
  });

  it('splitHeads and mergeHeads are inverse', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 3, 8]);
      const heads = splitHeads(x, 4, 2);
      expect(heads.shape).toEqual([2, 4, 3, 2]);
      expect(maxAbsDiff(mergeHeads(heads), x)).toBe(0);
    });
  });
});
