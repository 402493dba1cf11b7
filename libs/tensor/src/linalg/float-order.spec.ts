import fc from 'fast-check';
import { absFromKey, absKey, bitsOf, isNaNBits, valueFromKey, valueKey } from './float-order';

const float32 = fc.float({ noNaN: true });

describe('float order keys', () => {
  it('valueKey is strictly monotone in IEEE totalOrder and invertible', () => {
    fc.assert(
      fc.property(float32, float32, (a, b) => {
        const ka = valueKey(bitsOf(a));
        const kb = valueKey(bitsOf(b));
        const order = Object.is(a, b) ? 0 : a < b || (Object.is(a, -0) && Object.is(b, 0)) ? -1 : a > b || (Object.is(a, 0) && Object.is(b, -0)) ? 1 : 0;
        expect(Math.sign(ka - kb)).toBe(order);
        expect(Object.is(valueFromKey(ka), a)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('absKey orders magnitudes and maps both zeros to +0', () => {
    fc.assert(
      fc.property(float32, float32, (a, b) => {
        expect(Math.sign(absKey(bitsOf(a)) - absKey(bitsOf(b)))).toBe(Math.sign(Math.abs(a) - Math.abs(b)));
        expect(absFromKey(absKey(bitsOf(a)))).toBe(Math.abs(a));
      }),
      { numRuns: 2000 },
    );
    expect(Object.is(absFromKey(absKey(bitsOf(-0))), 0)).toBe(true);
  });

  it('places the extremes and zeros where totalOrder says', () => {
    const keys = [-Infinity, -1, -0, 0, 1e-45, Infinity].map((x) => valueKey(bitsOf(x)));
    expect([...keys].sort((x, y) => x - y)).toEqual(keys);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('detects every NaN payload but no other value', () => {
    expect(isNaNBits(bitsOf(Number.NaN))).toBe(true);
    expect(isNaNBits(0xffc00001)).toBe(true);
    expect(isNaNBits(0x7f800001)).toBe(true);
    expect(isNaNBits(bitsOf(Infinity))).toBe(false);
    expect(isNaNBits(bitsOf(-Infinity))).toBe(false);
    expect(isNaNBits(bitsOf(-0))).toBe(false);
  });
});
