import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { assertHeaders, assertKvKey, assertPattern, assertQueueName, assertSubject, subjectMatches } from './names';

const token = fc.stringMatching(/^[a-z0-9_-]{1,6}$/);
const subject = fc.array(token, { minLength: 1, maxLength: 6 });

describe('subjectMatches', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.*.c', 'a.x.c', true],
    ['a.*.c', 'a.x.y.c', false],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c.d', true],
    ['a.>', 'a', false],
    ['>', 'a', true],
    ['*', 'a.b', false],
    ['a.b', 'a.b.c', false],
    ['a.b.c', 'a.b', false],
  ])('%s vs %s -> %s', (pattern, s, expected) => {
    expect(subjectMatches(pattern, s)).toBe(expected);
  });

  it('matches a subject by itself, with any token starred, and by any proper prefix followed by >', () => {
    fc.assert(
      fc.property(subject, fc.nat(), (tokens, pick) => {
        const s = tokens.join('.');
        const i = pick % tokens.length;
        const starred = tokens.map((t, j) => (j === i ? '*' : t)).join('.');
        const tail = [...tokens.slice(0, i), '>'].join('.');
        return subjectMatches(s, s) && subjectMatches(starred, s) && subjectMatches(tail, s);
      }),
    );
  });

  it('never matches when the token counts differ and the pattern has no >', () => {
    fc.assert(
      fc.property(subject, subject, (p, s) => {
        fc.pre(p.length !== s.length);
        return !subjectMatches(p.map(() => '*').join('.'), s.join('.'));
      }),
    );
  });
});

describe('name validation', () => {
  const code = (f: () => void) => {
    try {
      f();
    } catch (err) {
      return (err as PatchworkError).code;
    }
    return 'OK';
  };

  it('accepts names that work on NATS and rejects the rest as INVALID_ARGUMENT', () => {
    expect(code(() => assertQueueName('evaluate_batch-1'))).toBe('OK');
    expect(code(() => assertQueueName('jobs.merge'))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertKvKey('adapters/lora=1.rank_8'))).toBe('OK');
    expect(code(() => assertKvKey('a..b'))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertKvKey('a.'))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertSubject('patchwork.merge.job.completed'))).toBe('OK');
    expect(code(() => assertSubject('patchwork.>'))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertPattern('patchwork.*.job.>'))).toBe('OK');
    expect(code(() => assertPattern('patchwork.>.job'))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertPattern('a b'))).toBe('INVALID_ARGUMENT');
  });

  it('reserves broker and dead-letter header names and forbids line breaks in values', () => {
    expect(code(() => assertHeaders({ 'x-trace': 'abc' }))).toBe('OK');
    expect(code(() => assertHeaders({ 'nats-msg-id': 'x' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertHeaders({ 'Patchwork-Dlq-Reason': 'x' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertHeaders({ 'x-a': 'line\nbreak' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertHeaders({ 'x:a': 'v' }))).toBe('INVALID_ARGUMENT');
  });
});
