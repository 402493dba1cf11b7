import { productShape } from './product-shape';

describe('productShape', () => {
  it('reads m, k, n through the transpose flags', () => {
    expect(productShape([2, 3], [3, 4], false, false)).toEqual({ outShape: [2, 4], m: 2, k: 3, n: 4, macs: 24 });
    expect(productShape([3, 2], [3, 4], true, false)).toEqual({ outShape: [2, 4], m: 2, k: 3, n: 4, macs: 24 });
    expect(productShape([2, 3], [4, 3], false, true)).toEqual({ outShape: [2, 4], m: 2, k: 3, n: 4, macs: 24 });
    expect(productShape([3, 2], [4, 3], true, true)).toEqual({ outShape: [2, 4], m: 2, k: 3, n: 4, macs: 24 });
  });

  it('broadcasts batch axes as numpy does and counts every block', () => {
    expect(productShape([5, 2, 3], [3, 4], false, false)).toEqual({ outShape: [5, 2, 4], m: 2, k: 3, n: 4, macs: 120 });
    expect(productShape([2, 3], [6, 1, 3, 4], false, false)?.outShape).toEqual([6, 1, 2, 4]);
    expect(productShape([6, 1, 2, 3], [5, 3, 4], false, false)).toMatchObject({ outShape: [6, 5, 2, 4], macs: 6 * 5 * 24 });
  });

  it('counts an empty operand as zero work', () => {
    expect(productShape([0, 3], [3, 4], false, false)).toEqual({ outShape: [0, 4], m: 0, k: 3, n: 4, macs: 0 });
    expect(productShape([2, 0], [0, 4], false, false)?.macs).toBe(0);
  });

  it('refuses what does not multiply, leaving the error to the backend kernel', () => {
    expect(productShape([2, 3], [4, 5], false, false)).toBeUndefined();
    expect(productShape([2, 3], [3, 4], true, false)).toBeUndefined();
    expect(productShape([3], [3, 4], false, false)).toBeUndefined();
    expect(productShape([2, 2, 3], [3, 3, 4], false, false)).toBeUndefined();
  });
});
