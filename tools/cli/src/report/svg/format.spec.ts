import { count, decimal, duration, MISSING, percent, shortDigest, tickFormatter } from './format';

describe('report number formats', () => {
  it('shows missing and non-finite values as a dash, never NaN', () => {
    for (const f of [percent, decimal, count, duration]) {
      expect(f(NaN)).toBe(MISSING);
      expect(f(Infinity)).toBe(MISSING);
      expect(f(null)).toBe(MISSING);
      expect(f(undefined)).toBe(MISSING);
    }
  });

  it('formats percentages, decimals and counts', () => {
    expect(percent(0.8734)).toBe('87.3%');
    expect(percent(1, 0)).toBe('100%');
    expect(decimal(0.19587)).toBe('0.196');
    expect(decimal(0)).toBe('0');
    expect(decimal(2.5e-7)).toBe('2.50e-7');
    expect(count(4_386_816)).toBe('4.39M');
    expect(count(24_576)).toBe('24.6k');
    expect(count(512)).toBe('512');
  });

  it('formats durations from milliseconds to hours', () => {
    expect(duration(0.42)).toBe('420 ms');
    expect(duration(12.34)).toBe('12.3 s');
    expect(duration(158.5)).toBe('2 min 39 s');
    expect(duration(3725)).toBe('1 h 02 min');
  });

  it('gives axis labels as many decimals as the step needs', () => {
    expect([0, 0.2, 0.4].map(tickFormatter(0.2, 'number'))).toEqual(['0.0', '0.2', '0.4']);
    expect([0, 20, 40].map(tickFormatter(20, 'number'))).toEqual(['0', '20', '40']);
    expect([0.9, 0.92].map(tickFormatter(0.02, 'percent'))).toEqual(['90%', '92%']);
    expect([0.015].map(tickFormatter(0.005, 'percent'))).toEqual(['1.5%']);
  });

  it('shortens digests with or without their algorithm prefix', () => {
    expect(shortDigest(`sha256:${'ab'.repeat(32)}`)).toBe('abababababab');
    expect(shortDigest('abc')).toBe('abc');
  });
});
