import { describeEachBackend, tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { clipByGlobalNorm, globalNorm } from './clip';

describeEachBackend('clipByGlobalNorm', () => {
  it('scales all gradients by maxNorm / (norm + 1e-6) when the global norm is larger', () => {
    const grads = new Map<string, tf.Tensor>([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor2d([[0, 4]])],
    ]);
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
    expect(norm).toBeCloseTo(5, 6);
    const coef = 1 / (5 + 1e-6);
    expect(clipped.get('a')?.dataSync()[0]).toBeCloseTo(3 * coef, 6);
    expect(clipped.get('b')?.dataSync()[1]).toBeCloseTo(4 * coef, 6);
    expect(globalNorm(clipped)).toBeCloseTo(1, 5);
    tf.dispose([...grads.values(), ...clipped.values()]);
  });

  it('leaves gradients below the limit bit-identical', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }), (values) => {
        const g = tf.tensor1d(values);
        const { grads, norm } = clipByGlobalNorm(new Map([['g', g]]), 10);
        expect(norm).toBeLessThan(10);
        expect(Array.from(grads.get('g')?.dataSync() ?? [])).toEqual(Array.from(g.dataSync()));
        tf.dispose([g, ...grads.values()]);
      }),
      { numRuns: 20 },
    );
  });

  it('never leaves a norm above the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }), fc.double({ min: 0.01, max: 5, noNaN: true }), (values, maxNorm) => {
        const g = tf.tensor1d(values);
        const { grads } = clipByGlobalNorm(new Map([['g', g]]), maxNorm);
        expect(globalNorm(grads)).toBeLessThanOrEqual(maxNorm * (1 + 1e-5));
        tf.dispose([g, ...grads.values()]);
      }),
      { numRuns: 20 },
    );
  });

  it('rejects a non-positive limit', () => {
    expect(() => clipByGlobalNorm(new Map(), 0)).toThrow(/maxGradNorm/);
  });
});
