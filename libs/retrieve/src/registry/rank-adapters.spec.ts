import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import type { AdapterRecord } from './adapter-record';
import { higherIsBetter, rankAdapters, resolveAdapter } from './rank-adapters';

const BASE = 'sha256:base-b';
const OTHER = 'sha256:base-a';

function rec(digest: string, baseModelDigest: string, tags: string[], metrics: Record<string, number>[] = [], portedFrom?: string): AdapterRecord {
  return { digest, baseModelDigest, tags, evaluations: metrics.map((m, i) => ({ name: `eval${i}`, metrics: m })), ...(portedFrom ? { portedFrom } : {}) };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof PatchworkError ? e.code : 'not a PatchworkError';
  }
  return undefined;
}

describe('rankAdapters', () => {
  const records: AdapterRecord[] = [
    rec('a', BASE, ['digits', 'vision'], [{ accuracy: 0.8 }]),
    rec('b', BASE, ['digits'], [{ accuracy: 0.9 }, { accuracy: 0.7 }]),
    rec('c', BASE, ['digits'], []),
    rec('d', OTHER, ['digits'], [{ accuracy: 0.99 }]),
    rec('e', OTHER, ['digits'], [{ accuracy: 0.95 }]),
    rec('e-port', BASE, ['digits'], [{ accuracy: 0.85 }], 'e'),
    rec('text', BASE, ['text'], [{ accuracy: 1 }]),
  ];

  it('keeps adapters of the base carrying every tag, best score first, unscored last', () => {
    const { ranked, refused } = rankAdapters(records, { baseModelDigest: BASE, tags: ['digits'], metric: 'accuracy' });
    expect(ranked.map((r) => r.digest)).toEqual(['e-port', 'a', 'b', 'c']);
    // b's score is the mean over its two evaluations.
    expect(ranked.map((r) => r.score)).toEqual([0.85, 0.8, 0.8, undefined]);
    expect(ranked.map((r) => r.rank)).toEqual([1, 2, 3, 4]);
    expect(ranked[0].portedFrom).toBe('e');
    // d is refused: another base and no port; e is represented by its port, so not refused.
    expect(refused.map((r) => [r.digest, r.code])).toEqual([['d', 'FAILED_PRECONDITION']]);
    expect(refused[0].reason).toMatch(/base-a.*no ported patch/);
  });

  it('reads one named evaluation, and orders lower-is-better metrics ascending', () => {
    const rs = [rec('x', BASE, [], [{ loss: 2 }, { loss: 0.5 }]), rec('y', BASE, [], [{ loss: 1 }])];
    expect(rankAdapters(rs, { baseModelDigest: BASE, metric: 'loss' }).ranked.map((r) => r.digest)).toEqual(['y', 'x']);
    expect(rankAdapters(rs, { baseModelDigest: BASE, metric: { name: 'loss', evaluation: 'eval1' } }).ranked.map((r) => r.digest)).toEqual(['x', 'y']);
    expect(rankAdapters(rs, { baseModelDigest: BASE, metric: { name: 'loss', higherIsBetter: true } }).ranked.map((r) => r.digest)).toEqual(['x', 'y']);
    expect([higherIsBetter('acc,none'), higherIsBetter('eval_loss'), higherIsBetter('word_perplexity,none'), higherIsBetter('f1')]).toEqual([true, false, false, true]);
  });

  it('breaks ties natively trained first, then by digest', () => {
    const rs = [rec('z', BASE, [], [{ acc: 1 }]), rec('p', BASE, [], [{ acc: 1 }], 'q'), rec('m', BASE, [], [{ acc: 1 }])];
    expect(rankAdapters(rs, { baseModelDigest: BASE, metric: 'acc' }).ranked.map((r) => r.digest)).toEqual(['m', 'z', 'p']);
  });

  it('fails with FAILED_PRECONDITION when every matching adapter belongs to another base', () => {
    const rs = [rec('d', OTHER, ['digits']), rec('other', BASE, ['text'])];
    expect(codeOf(() => rankAdapters(rs, { baseModelDigest: BASE, tags: ['digits'] }))).toBe('FAILED_PRECONDITION');
    // Nothing matching at all is an empty result, not an error.
    expect(rankAdapters(rs, { baseModelDigest: BASE, tags: ['audio'] })).toEqual({ ranked: [], refused: [] });
  });

  it('rejects malformed records and queries, naming the field', () => {
    expect(() => rankAdapters([rec('a', BASE, []), rec('a', BASE, [])], { baseModelDigest: BASE })).toThrow(/records\[1\]\.digest: duplicates records\[0\]/);
    expect(() => rankAdapters([rec('a', BASE, [], [{ acc: Number.NaN }])], { baseModelDigest: BASE })).toThrow(/records\[0\]\.evaluations\[0\]\.metrics\.acc/);
    expect(() => rankAdapters([], { baseModelDigest: '' })).toThrow(/query\.baseModelDigest/);
    expect(() => rankAdapters([], { baseModelDigest: BASE, metric: { name: '' } })).toThrow(/query\.metric/);
    expect(codeOf(() => rankAdapters([rec('a', BASE, [], [], 'a')], { baseModelDigest: BASE }))).toBe('INVALID_ARGUMENT');
  });

  it('never returns an adapter of another base, and ranks by the metric (property)', () => {
    const record = fc.record({
      digest: fc.string({ minLength: 1, maxLength: 4 }),
      base: fc.constantFrom(BASE, OTHER),
      tags: fc.subarray(['t1', 't2', 't3']),
      score: fc.option(fc.double({ min: -5, max: 5, noNaN: true }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(record, { selector: (r) => r.digest, maxLength: 12 }), fc.subarray(['t1', 't2']), (raw, tags) => {
        const rs = raw.map((r) => rec(r.digest, r.base, r.tags, r.score === undefined ? [] : [{ m: r.score }]));
        const matching = rs.filter((r) => tags.every((t) => r.tags.includes(t)));
        const native = matching.filter((r) => r.baseModelDigest === BASE);
        if (native.length === 0 && matching.length > 0) {
          expect(codeOf(() => rankAdapters(rs, { baseModelDigest: BASE, tags, metric: 'm' }))).toBe('FAILED_PRECONDITION');
          return;
        }
        const { ranked, refused } = rankAdapters(rs, { baseModelDigest: BASE, tags, metric: 'm' });
        expect(ranked.map((r) => r.digest).sort()).toEqual(native.map((r) => r.digest).sort());
        expect(refused.length).toBe(matching.length - native.length);
        const scores = ranked.map((r) => r.score);
        const firstMissing = scores.indexOf(undefined);
        const scored = (firstMissing < 0 ? scores : scores.slice(0, firstMissing)) as number[];
        if (firstMissing >= 0) expect(scores.slice(firstMissing).every((s) => s === undefined)).toBe(true);
        for (let i = 1; i < scored.length; i++) expect(scored[i - 1]).toBeGreaterThanOrEqual(scored[i]);
      }),
    );
  });
});

describe('resolveAdapter', () => {
  const records = [rec('a', BASE, []), rec('d', OTHER, []), rec('e', OTHER, []), rec('e-port', BASE, [], [], 'e')];

  it('returns the adapter for its own base and the port for a ported one', () => {
    expect(resolveAdapter(records, { baseModelDigest: BASE, digest: 'a' }).digest).toBe('a');
    expect(resolveAdapter(records, { baseModelDigest: BASE, digest: 'e' }).digest).toBe('e-port');
    expect(resolveAdapter(records, { baseModelDigest: OTHER, digest: 'e' }).digest).toBe('e');
  });

  it('refuses another base without a port, and an unknown digest', () => {
    expect(codeOf(() => resolveAdapter(records, { baseModelDigest: BASE, digest: 'd' }))).toBe('FAILED_PRECONDITION');
    expect(codeOf(() => resolveAdapter(records, { baseModelDigest: BASE, digest: 'nope' }))).toBe('NOT_FOUND');
    expect(codeOf(() => resolveAdapter(records, { baseModelDigest: '', digest: 'a' }))).toBe('INVALID_ARGUMENT');
  });
});
