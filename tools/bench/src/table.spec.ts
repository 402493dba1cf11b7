import { fixed, formatTable, sci } from './table';

describe('formatTable', () => {
  it('aligns the first column left and the others right, under a rule', () => {
    expect(formatTable(['name', 'x'], [['a', '1.5'], ['longer', '10']]).split('\n')).toEqual([
      'name      x',
      '------  ---',
      'a       1.5',
      'longer   10',
    ]);
  });

  it('prints missing or non-finite numbers as a dash', () => {
    expect(fixed(undefined, 2)).toBe('-');
    expect(fixed(Number.NaN, 2)).toBe('-');
    expect(fixed(1.234, 1)).toBe('1.2');
    expect(sci(0.00123)).toBe('1.2e-3');
    expect(sci(Infinity)).toBe('-');
  });
});
