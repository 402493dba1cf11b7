import fc from 'fast-check';
import { bitsToFloat32, float32Bits, float32BitsToBfloat16, float32BitsToHalf, halfLookupTable, halfToFloat32 } from './half';

// Independent references: pick the nearest representable value by search and compare, rather
// than by shifting bits as the implementation does.
const positiveHalves: number[] = [];
for (let h = 0; h < 0x7c00; h++) positiveHalves.push(((h >> 10) === 0 ? h * 2 ** -24 : (1024 + (h & 0x3ff)) * 2 ** ((h >> 10) - 25)));

function referenceHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65520 is halfway between the largest half (65504) and 2^16; ties go to the even pattern, i.e. Inf.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = positiveHalves.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (positiveHalves[mid] <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - positiveHalves[lo];
  const dHi = positiveHalves[hi] - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

function referenceBfloat16(bits: number): number {
  const x = bitsToFloat32(bits);
  if (Number.isNaN(x)) return -1;
  if (!Number.isFinite(x)) return bits >>> 16;
  const down = bits >>> 16;
  const up = down + 1;
  const vDown = bitsToFloat32(down << 16);
  const vUp = (up & 0x7fff) === 0x7f80 ? Math.sign(x) * 2 ** 128 : bitsToFloat32(up << 16);
  const dDown = Math.abs(x - vDown);
  const dUp = Math.abs(vUp - x);
  return dDown < dUp ? down : dUp < dDown ? up : down % 2 === 0 ? down : up;
}

const anyFloat32Bits = fc.integer({ min: 0, max: 0xffffffff });
const subnormalHalfRange = fc.float({ min: Math.fround(-(2 ** -13)), max: Math.fround(2 ** -13), noNaN: true });

describe('binary16', () => {
  it('decodes every pattern exactly (sign, subnormals, Inf, NaN)', () => {
    expect(halfToFloat32(0x0001)).toBe(2 ** -24);
    expect(halfToFloat32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(halfToFloat32(0x0400)).toBe(2 ** -14);
    expect(halfToFloat32(0x3c00)).toBe(1);
    expect(halfToFloat32(0xc000)).toBe(-2);
    expect(halfToFloat32(0x7bff)).toBe(65504);
    expect(halfToFloat32(0x7c00)).toBe(Infinity);
    expect(halfToFloat32(0xfc00)).toBe(-Infinity);
    expect(Object.is(halfToFloat32(0x8000), -0)).toBe(true);
    expect(halfToFloat32(0x7e00)).toBeNaN();
    expect(halfToFloat32(0xfc01)).toBeNaN();
    const table = halfLookupTable();
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const magnitude = positiveHalves[h & 0x7fff] ?? Infinity;
      const ok = (h & 0x7fff) > 0x7c00 ? Number.isNaN(table[h]) : Object.is(table[h], h < 0x8000 ? magnitude : -magnitude);
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('re-encodes every non-NaN pattern to itself', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7fff) <= 0x7c00 && float32BitsToHalf(float32Bits(halfToFloat32(h))) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds every float32 to nearest even like the search-based reference', () => {
    fc.assert(
      fc.property(anyFloat32Bits, (bits) => {
        const x = bitsToFloat32(bits);
        const got = float32BitsToHalf(bits);
        if (Number.isNaN(x)) return (got & 0x7c00) === 0x7c00 && (got & 0x3ff) !== 0;
        return got === referenceHalf(x);
      }),
      { numRuns: 20000 },
    );
    fc.assert(fc.property(subnormalHalfRange, (x) => float32BitsToHalf(float32Bits(x)) === referenceHalf(x)), { numRuns: 5000 });
    // Exact ties (and their neighbours) are rare among random patterns, so they get their own run.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7ffff }), fc.constantFrom(0x1000, 0x0fff, 0x1001), (high, low) => {
        const bits = ((high << 13) | low) >>> 0;
        const x = bitsToFloat32(bits);
        return Number.isNaN(x) || float32BitsToHalf(bits) === referenceHalf(x);
      }),
      { numRuns: 5000 },
    );
  });

  it('handles ties, overflow and underflow at the edges', () => {
    expect(float32BitsToHalf(float32Bits(1 + 2 ** -11))).toBe(0x3c00); // tie, even stays down
    expect(float32BitsToHalf(float32Bits(1 + 3 * 2 ** -11))).toBe(0x3c02); // tie, odd goes up
    expect(float32BitsToHalf(float32Bits(65519.99))).toBe(0x7bff);
    expect(float32BitsToHalf(float32Bits(65520))).toBe(0x7c00);
    expect(float32BitsToHalf(float32Bits(2 ** -25))).toBe(0); // half the smallest subnormal: tie to zero
    expect(float32BitsToHalf(float32Bits(Math.fround(2 ** -25 * 1.0000001)))).toBe(1);
    expect(float32BitsToHalf(float32Bits(-1e-30))).toBe(0x8000);
    expect(float32BitsToHalf(0x7f800001) & 0x7e00).toBe(0x7e00);
  });
});

describe('bfloat16', () => {
  it('rounds every float32 to nearest even like the reference, NaN stays NaN', () => {
    fc.assert(
      fc.property(anyFloat32Bits, (bits) => {
        const got = float32BitsToBfloat16(bits);
        const want = referenceBfloat16(bits);
        if (want === -1) return Number.isNaN(bitsToFloat32(got << 16));
        return got === want;
      }),
      { numRuns: 20000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x8000, 0x7fff, 0x8001), (high, low) => {
        const bits = ((high << 16) | low) >>> 0;
        const want = referenceBfloat16(bits);
        return want === -1 || float32BitsToBfloat16(bits) === want;
      }),
      { numRuns: 5000 },
    );
  });

  it('keeps subnormals, signed zero and infinities', () => {
    expect(float32BitsToBfloat16(0x00010000)).toBe(0x0001);
    expect(float32BitsToBfloat16(0x00018000)).toBe(0x0002); // tie, odd goes up
    expect(float32BitsToBfloat16(0x3f808000)).toBe(0x3f80); // tie, even stays down
    expect(float32BitsToBfloat16(0x80000000)).toBe(0x8000);
    expect(float32BitsToBfloat16(0x7f800000)).toBe(0x7f80);
    expect(float32BitsToBfloat16(0x7f7fffff)).toBe(0x7f80); // max float rounds up to Inf
    expect(float32BitsToBfloat16(0xff800000)).toBe(0xff80);
    expect(float32BitsToBfloat16(0x7f800001) & 0x7fc0).toBe(0x7fc0);
  });
});
