import { PatchworkError, ViolationCollector, invalidArgument } from './patchwork-error';

describe('PatchworkError', () => {
  it('normalises unknown throwables and keeps the cause', () => {
    const cause = new Error('boom');
    const err = PatchworkError.from(cause);
    expect(err.code).toBe('INTERNAL');
    expect(err.cause).toBe(cause);
    expect(PatchworkError.from('text').message).toBe('text');
  });

  it('maps Node and abort errors to their codes', () => {
    const enoent = Object.assign(new Error('missing'), { code: 'ENOENT' });
    expect(PatchworkError.from(enoent).code).toBe('NOT_FOUND');
    const abort = Object.assign(new Error('stop'), { name: 'AbortError' });
    expect(PatchworkError.from(abort).code).toBe('CANCELLED');
    const foreign = { name: 'Error', message: 'no such file', code: 'ENOENT' };
    expect(PatchworkError.from(foreign).code).toBe('NOT_FOUND');
  });

  it('is recognised by instanceof through its brand, and retryability follows the code', () => {
    const err = invalidArgument('models[0].weight', 'must be finite');
    expect(err).toBeInstanceOf(PatchworkError);
    expect(err.retryable).toBe(false);
    expect(new PatchworkError('UNAVAILABLE', 'nats down').retryable).toBe(true);
    expect({ code: 'INTERNAL' }).not.toBeInstanceOf(PatchworkError);
  });

  it('collects every violation before throwing', () => {
    const c = new ViolationCollector();
    c.throwIfAny();
    c.add('a', 'bad');
    c.add('b', 'worse');
    expect(() => c.throwIfAny()).toThrow('a: bad; b: worse');
    try {
      c.throwIfAny();
    } catch (e) {
      expect((e as PatchworkError).violations).toHaveLength(2);
    }
  });
});
