import fc from 'fast-check';
import type { ParameterSetting } from '@patchwork/merge';
import { settingFromWire, settingToWire } from './merge-settings';

const number = fc.double({ noNaN: true, noDefaultInfinity: true });
const word = fc.string({ minLength: 1, maxLength: 8 });
const gradient = fc.array(number, { minLength: 2, maxLength: 4 });
const conditional = fc.record({ filter: fc.option(word, { nil: undefined }), value: fc.oneof(number, word, gradient) }, { requiredKeys: ['value'] }).map((c) => {
  const out: { filter?: string; value: number | string | number[] } = { value: c.value };
  if (c.filter !== undefined) out.filter = c.filter;
  return out;
});
const setting: fc.Arbitrary<ParameterSetting> = fc.oneof(number, word, gradient, fc.array(conditional, { minLength: 1, maxLength: 3 }));

describe('merge settings on the wire', () => {
  it('round-trips every kind of mergekit parameter value (property)', () => {
    fc.assert(fc.property(setting, (value) => expect(settingFromWire(settingToWire(value), 'x')).toEqual(value)));
  });

  it('names an empty value', () => {
    expect(() => settingFromWire({ kind: undefined }, 'spec.settings.t')).toThrow('spec.settings.t: needs a number, word, gradient or filters');
  });
});
