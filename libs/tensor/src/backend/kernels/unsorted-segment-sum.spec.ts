import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { initBackend } from '../init';

/** Runs `f` on a backend and returns plain values, so results from two backends can be compared. */
async function on<T>(backend: 'cpu' | 'wasm', f: () => tf.Tensor | tf.Tensor[]): Promise<T> {
  await initBackend({ backend });
  const out = tf.tidy(f);
  const values = Array.isArray(out) ? await Promise.all(out.map((t) => t.array())) : await out.array();
  tf.dispose(out);
  return values as T;
}

const caseArb = fc
  .record({ rows: fc.integer({ min: 0, max: 12 }), inner: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 2 }), numSegments: fc.integer({ min: 1, max: 6 }) })
  .chain(({ rows, inner, numSegments }) =>
    fc.record({
      shape: fc.constant([rows, ...inner]),
      numSegments: fc.constant(numSegments),
      // Ids outside [0, numSegments) must be dropped, as the cpu kernel does.
      ids: fc.array(fc.integer({ min: -1, max: numSegments }), { minLength: rows, maxLength: rows }),
      // Integer values keep float sums exact, so any difference is a kernel bug, not rounding.
      values: fc.array(fc.integer({ min: -50, max: 50 }), { minLength: rows * inner.reduce((a, b) => a * b, 1), maxLength: rows * inner.reduce((a, b) => a * b, 1) }),
      dtype: fc.constantFrom('float32' as const, 'int32' as const),
    }),
  );

describe('UnsortedSegmentSum on wasm', () => {
  it('matches the cpu kernel exactly', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ shape, numSegments, ids, values, dtype }) => {
        const run = () => tf.unsortedSegmentSum(tf.tensor(values, [...shape], dtype), tf.tensor1d(ids, 'int32'), numSegments);
        expect(await on('wasm', run)).toEqual(await on('cpu', run));
      }),
      { numRuns: 30 },
    );
  });

  it('gives gather (embedding) gradients equal to cpu', async () => {
    const grads = () => {
      const table = tf.tensor2d(Array.from({ length: 40 }, (_, i) => Math.sin(i)), [10, 4]);
      const ids = tf.tensor2d([[1, 3, 3], [0, 9, 1]], [2, 3], 'int32');
      const weights = tf.tensor3d(Array.from({ length: 24 }, (_, i) => (i % 5) - 2), [2, 3, 4]);
      return tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))([table]);
    };
    const wasm = await on<number[][][]>('wasm', grads);
    const cpu = await on<number[][][]>('cpu', grads);
    expect(wasm).toEqual(cpu);
    // Rows gathered twice get the sum of both weight rows; rows never gathered get zero.
    expect(wasm[0][3]).toEqual([3, 0, -3, -1]);
    expect(wasm[0][1]).toEqual([-4, -2, 0, 2]);
    expect(wasm[0][2]).toEqual([0, 0, 0, 0]);
  });
});
