import fc from 'fast-check';
import { rankWindowMask, topKMask } from './rank-window';

/** Reference: positions sorted by |x| descending, ties by position. */
function reference(values: Float32Array, from: number, to: number): number[] {
  const order = Array.from(values.keys()).sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]) || a - b);
  return order.slice(Math.max(0, from), Math.max(0, to)).sort((a, b) => a - b);
}

describe('rankWindowMask', () => {
  it('keeps exactly the ranks [from, to) by magnitude, ties by position (property)', () => {
    // Few distinct values, so ties at the window edges are common.
    const values = fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 1, maxLength: 40 }).map((a) => Float32Array.from(a, (x) => x / 2));
    fc.assert(
      fc.property(values, fc.nat(45), fc.nat(45), (v, x, y) => {
        const [from, to] = x <= y ? [x, y] : [y, x];
        const mask = rankWindowMask(v, from, to);
        expect(Array.from(mask.keys()).filter((i) => mask[i])).toEqual(reference(v, from, to));
      }),
    );
  });

  it('topKMask keeps nothing for k <= 0 and everything for k >= n', () => {
    expect(Array.from(topKMask(Float32Array.of(1, 2), 0))).toEqual([0, 0]);
    expect(Array.from(topKMask(Float32Array.of(1, 2), 5))).toEqual([1, 1]);
  });
});
