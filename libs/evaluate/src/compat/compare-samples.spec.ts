import fc from 'fast-check';
import { type ComparableSample, compareSamples, nfrReduction } from './compare-samples';

const log = (preds: number[], targets: number[], extra: (i: number) => Record<string, unknown> = () => ({})): ComparableSample[] =>
  preds.map((pred, i) => ({ doc_id: i, target: targets[i], pred, acc: pred === targets[i] ? 1 : 0, metrics: ['acc'], doc_hash: `h${i}`, ...extra(i) }));

describe('compareSamples (MUSCLE)', () => {
  // doc:      0  1  2  3  4  5  6  7  8  9
  const gold = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
  const oldP = [0, 1, 2, 1, 0, 2, 1, 1, 0, 2];
  const newP = [0, 0, 2, 0, 2, 1, 1, 1, 1, 0];
  // both right: 0, 2, 7 | old right only: 1, 5 | new right only: 3, 9 | both wrong same: 6 | both wrong different: 4, 8

  it('counts flips as hand-computed', () => {
    const r = compareSamples(log(oldP, gold), log(newP, gold));
    expect(r.counts).toEqual({ both_correct: 3, old_correct_new_wrong: 2, old_wrong_new_correct: 2, both_wrong_same_prediction: 1, both_wrong_different_prediction: 2 });
    expect(r.negative_flip_rate).toBe(0.2);
    expect(r.positive_flip_rate).toBe(0.2);
    expect(r.inconsistency_flip_rate).toBe(0.4);
    expect(r.wrong_to_other_wrong_rate).toBe(0.2);
    expect(r.accuracy_old).toBe(0.5);
    expect(r.accuracy_new).toBe(0.5);
    expect(r.score_difference).toMatchObject({ score: 'acc', positive_flip_rate: 0.2, negative_flip_rate: 0.2, mean_gain: 1, mean_regression: 1 });
  });

  it('matches documents by doc_id, not by position', () => {
    const a = log(oldP, gold);
    const b = log(newP, gold).reverse();
    expect(compareSamples(a, b).counts).toEqual(compareSamples(a, log(newP, gold)).counts);
  });

  it('refuses mismatched document sets, duplicates and different documents', () => {
    expect(() => compareSamples(log(oldP, gold), log(newP, gold).slice(0, 8))).toThrow(/lacks doc_ids 8, 9/);
    expect(() => compareSamples(log(oldP, gold), [...log(newP, gold), { doc_id: 3, pred: 0, target: 0 }])).toThrow(/appears twice/);
    expect(() => compareSamples(log(oldP, gold), log(newP, gold, (i) => (i === 4 ? { doc_hash: 'other' } : {})))).toThrow(/doc 4 differs/);
    expect(() => compareSamples(log(oldP, gold), log(newP, gold.map((g, i) => (i === 2 ? 1 : g))))).toThrow(/doc 2 has target/);
    expect(() => compareSamples([], log(newP, gold))).toThrow(/oldSamples/);
  });

  it('score-difference variants from a continuous per-sample metric (log-likelihood per token)', () => {
    const pair = (ll: number[], n: number[]) => ll.map((v, i) => ({ doc_id: i, target: `t${i}`, pred: null, token_perplexity: [v, n[i]], metrics: ['token_perplexity'] }));
    const r = compareSamples(pair([-10, -20, -30, -8], [5, 10, 10, 4]), pair([-5, -20, -40, -6], [5, 10, 10, 4]));
    // per-token scores old [-2, -2, -3, -2], new [-1, -2, -4, -1.5]: D = [1, 0, -1, 0.5].
    expect(r.counts).toBeUndefined();
    expect(r.negative_flip_rate).toBeUndefined();
    expect(r.score_difference).toEqual({ score: 'token_perplexity', mean_old: -2.25, mean_new: -2.125, positive_flip_rate: 0.5, negative_flip_rate: 0.25, mean_gain: 0.75, mean_regression: 1 });
    const none = compareSamples(pair([-1], [1]), pair([-1], [1]));
    expect(none.score_difference.mean_gain).toBeNull();
    expect(none.score_difference.mean_regression).toBeNull();
  });

  it('NFR + PFR + both-correct + both-wrong cover every document, and NFR_mc >= NFR (property)', () => {
    const labels = fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(labels, (rows) => {
        const g = rows.map((r) => r[0]);
        const r = compareSamples(log(rows.map((x) => x[1]), g), log(rows.map((x) => x[2]), g));
        const c = r.counts!;
        const total = c.both_correct + c.old_correct_new_wrong + c.old_wrong_new_correct + c.both_wrong_same_prediction + c.both_wrong_different_prediction;
        return total === rows.length && r.inconsistency_flip_rate! >= r.negative_flip_rate! && Math.abs(r.accuracy_new! - r.accuracy_old! - (r.positive_flip_rate! - r.negative_flip_rate!)) < 1e-12;
      }),
    );
  });

  it('reports ΔNFR_c and Δ%NFR_c', () => {
    const plain = compareSamples(log(oldP, gold), log(newP, gold));
    const compat = compareSamples(log(oldP, gold), log(oldP, gold));
    expect(nfrReduction(plain, compat)).toEqual({ delta: -0.2, relative_percent: -100 });
  });
});
