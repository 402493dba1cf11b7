import fc from 'fast-check';
import { linearScale, niceDomain } from './scale';

describe('niceDomain', () => {
  it('rounds outwards to 1-2-5 steps', () => {
    const d = niceDomain([0.13, 0.72]);
    expect(d).toMatchObject({ min: 0, max: 0.8, step: 0.2 });
    expect(d.ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });

  it('gives [0, 1] when there is nothing finite to show', () => {
    for (const values of [[], [NaN], [Infinity, -Infinity, NaN]]) {
      const d = niceDomain(values);
      expect([d.min, d.max]).toEqual([0, 1]);
    }
  });

  it('pads a single value and all-equal values instead of dividing by zero', () => {
    const five = niceDomain([5, 5, 5]);
    expect(five.min).toBeLessThan(5);
    expect(five.max).toBeGreaterThan(5);
    expect(five.max - five.min).toBeLessThan(2);
    expect(niceDomain([0])).toMatchObject({ min: -1, max: 1 });
    expect(niceDomain([-2e-9])).toMatchObject({ min: expect.any(Number), max: expect.any(Number) });
    const tiny = niceDomain([-2e-9]);
    expect(tiny.min).toBeLessThan(-2e-9);
    expect(tiny.max).toBeGreaterThan(-2e-9);
  });

  it('starts at zero when asked (bars), including for all-zero data', () => {
    expect(niceDomain([3, 7], { includeZero: true }).min).toBe(0);
    expect(niceDomain([0, 0], { includeZero: true })).toMatchObject({ min: -1, max: 1 });
    expect(niceDomain([-3, -1], { includeZero: true }).max).toBe(0);
  });

  it('stays inside its bounds, showing the whole range when values sit on a bound', () => {
    expect(niceDomain([1, 1, 1], { bounds: [0, 1] })).toMatchObject({ min: 0.9, max: 1 });
    expect(niceDomain([0, 0], { bounds: [0, 1] })).toMatchObject({ min: 0, max: 1 });
    expect(niceDomain([2, 3], { bounds: [0, 1] })).toMatchObject({ min: 0, max: 1 });
    expect(niceDomain([0.7, 0.95], { bounds: [0, 1] })).toMatchObject({ min: 0.65, max: 0.95 });
  });

  it('rejects bounds that are not a range', () => {
    expect(() => niceDomain([1], { bounds: [1, 1] })).toThrow(/bad axis bounds/);
  });

  const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
  const messy = fc.oneof({ weight: 6, arbitrary: finite }, fc.constant(NaN), fc.constant(Infinity), fc.constant(-Infinity));

  it('contains every finite value, has min < max and ticks inside, for any data (property)', () => {
    fc.assert(
      fc.property(fc.array(messy, { maxLength: 20 }), fc.boolean(), (values, includeZero) => {
        const d = niceDomain(values, { includeZero });
        const slack = (Math.abs(d.max) + Math.abs(d.min)) * 1e-12;
        return (
          Number.isFinite(d.min) &&
          Number.isFinite(d.max) &&
          d.min < d.max &&
          d.ticks.length >= 1 &&
          d.ticks.length <= 50 &&
          d.ticks.every((t) => Number.isFinite(t) && t >= d.min - slack && t <= d.max + slack) &&
          values.filter(Number.isFinite).every((v) => v >= d.min && v <= d.max) &&
          (!includeZero || (d.min <= 0 && d.max >= 0))
        );
      }),
      { numRuns: 500 },
    );
  });

  it('keeps accuracy-like data inside [0, 1] (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), (values) => {
        const d = niceDomain(values, { bounds: [0, 1] });
        return d.min >= 0 && d.max <= 1 && d.min < d.max && values.every((v) => v >= d.min && v <= d.max);
      }),
    );
  });
});

describe('linearScale', () => {
  it('maps the domain ends onto the range ends, inverted for SVG y', () => {
    const s = linearScale({ min: 0, max: 10 }, 300, 20);
    expect(s(0)).toBe(300);
    expect(s(10)).toBe(20);
    expect(s(5)).toBe(160);
  });

  it('clamps outside values and infinities, and maps NaN to the middle', () => {
    const s = linearScale({ min: 0, max: 1 }, 0, 100);
    expect(s(2)).toBe(100);
    expect(s(-1)).toBe(0);
    expect(s(Infinity)).toBe(100);
    expect(s(NaN)).toBe(50);
  });

  it('is finite, inside the range and monotone for any domain niceDomain builds (property)', () => {
    const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(fc.array(finite, { minLength: 1, maxLength: 8 }), finite, finite, (values, a, b) => {
        const d = niceDomain(values);
        const s = linearScale(d, 10, 500);
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const [sa, sb] = [s(lo), s(hi)];
        return Number.isFinite(sa) && Number.isFinite(sb) && sa >= 10 && sb <= 500 && sa <= sb;
      }),
      { numRuns: 500 },
    );
  });
});

describe('niceDomain at the edges of the float range', () => {
  it('keeps a positive tick step for subnormal and huge spans', () => {
    for (const values of [[5e-324, 1e-323], [-1.7e308, 1.7e308], [1e10, 1e10 + 1e-5]]) {
      const d = niceDomain(values);
      expect(d.step).toBeGreaterThan(0);
      expect(d.min).toBeLessThan(d.max);
    }
  });
});
