import { PatchworkError } from '@patchwork/errors';
import { ConfigReader } from './config-reader';

describe('ConfigReader', () => {
  it('applies defaults for absent or null fields and reads present ones', () => {
    const c = new ConfigReader({ hidden_size: 64, n_inner: null, eps: 1e-6, flag: true, act: 'gelu' });
    expect(c.positiveInt('hidden_size', 8)).toBe(64);
    expect(c.positiveInt('n_inner', 256)).toBe(256);
    expect(c.positiveNumber('eps')).toBe(1e-6);
    expect(c.bool('flag', false)).toBe(true);
    expect(c.string('act')).toBe('gelu');
    expect(c.optionalInt('pad_token_id')).toBeUndefined();
    expect(c.firstPresent('n_embd', 'hidden_size')).toBe('hidden_size');
    expect(() => c.done()).not.toThrow();
  });

  it('collects every bad field into one INVALID_ARGUMENT', () => {
    const c = new ConfigReader({ a: 1.5, b: -1, c: 'x', d: [] });
    c.positiveInt('a');
    c.nonNegativeInt('b');
    c.bool('c', false);
    c.optionalObject('d');
    c.positiveInt('missing');
    let err: unknown;
    try {
      c.done();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PatchworkError);
    expect((err as PatchworkError).code).toBe('INVALID_ARGUMENT');
    expect((err as PatchworkError).violations.map((v) => v.field)).toEqual(['config.a', 'config.b', 'config.c', 'config.d', 'config.missing']);
  });

  it('derives the label count from id2label, then num_labels, then 2', () => {
    expect(new ConfigReader({ id2label: { 0: 'x', 1: 'y', 2: 'z' }, num_labels: 7 }).numLabels()).toBe(3);
    expect(new ConfigReader({ num_labels: 7 }).numLabels()).toBe(7);
    expect(new ConfigReader({}).numLabels()).toBe(2);
  });
});
