import fc from 'fast-check';
import { buildResults } from '../runner/results';
import { SHARD_FORMAT, type ShardResult } from '../runner/shard-result';
import type { SampleLog } from '../runner/samples';
import { bootstrapStderrs } from '../stats/bootstrap';
import type { TaskConfig } from '../tasks/task-config';
import { normalisedChoice } from './acc-norm';
import { aggregate, allIndices } from './common';
import { exactMatch } from './exact-match';
import { f1Score } from './f1';
import { matthewsCorrcoef } from './mcc';
import { getMetric, listMetrics } from './registry';
import type { MetricItem, ScoredDoc } from './types';

const pairs = (g: number[], p: number[]): MetricItem[] => g.map((x, i) => [x, p[i]] as const);

// Golds / predictions used for the CPython references below (lm-eval's bootstrap loop, sklearn's formulas).
const GOLDS = [0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 1, 2, 1, 1, 0, 2, 2, 0, 1, 0];
const PREDS = [0, 2, 1, 0, 0, 1, 2, 1, 0, 1, 1, 2, 0, 1, 0, 2, 1, 0, 2, 0];

describe('accuracy and acc_norm', () => {
  const mc = (lls: number[], choices: string[], gold: number): ScoredDoc => ({ outputType: 'multiple_choice', loglikelihoods: lls, choices, gold, pred: lls.indexOf(Math.max(...lls)) });

  it('acc scores the first argmax, so a tie goes to the earlier choice', () => {
    const acc = getMetric('acc');
    expect(acc.item({ outputType: 'multiple_choice', gold: 1, pred: 0, loglikelihoods: [-1, -1] }, {})).toBe(0);
    expect(acc.item({ outputType: 'classification', gold: 2, pred: 2 }, {})).toBe(1);
  });

  it('acc_norm divides by the choice length in characters (code points)', () => {
    const doc = mc([-2, -3], ['a', 'bbb'], 1);
    expect(getMetric('acc').item(doc, {})).toBe(0);
    expect(getMetric('acc_norm').item(doc, {})).toBe(1);
    // '日本' is 2 code points (and 2 UTF-16 units), '😀' is 1 code point but 2 UTF-16 units.
    expect(normalisedChoice([-2.2, -1.2], ['ab', '😀'])).toBe(0);
    expect(normalisedChoice([-3, -3], ['abc', 'abc'])).toBe(0);
  });

  it('acc_norm refuses empty choices rather than dividing by zero', () => {
    expect(() => normalisedChoice([-1, -2], ['', 'x'])).toThrow(/non-empty/);
  });

  it('aggregates to the mean', () => {
    expect(aggregate(getMetric('acc'), [1, 0, 1, 1])).toBe(0.75);
  });
});

describe('F1', () => {
  it('matches scikit-learn documentation values', () => {
    const g = [0, 1, 2, 0, 1, 2];
    const p = [0, 2, 1, 0, 0, 1];
    expect(f1Score(g, p, { average: 'macro' })).toBeCloseTo(0.26666666666666666, 15);
    expect(f1Score(g, p, { average: 'micro' })).toBeCloseTo(1 / 3, 15);
    // f1_score([0]*6, [0]*6, zero_division=1) == 1.0 (binary: class 1 never occurs).
    expect(f1Score([0, 0, 0], [0, 0, 0], { average: 'binary', zeroDivision: 1 })).toBe(1);
    expect(f1Score([0, 0, 0], [0, 0, 0], { average: 'binary' })).toBe(0);
  });

  it('scores only classes present in golds or predictions unless asked for all', () => {
    const g = [0, 1, 2, 0, 1, 2];
    const p = [0, 2, 1, 0, 0, 1];
    // Per class: F1(0) = 0.8, F1(1) = F1(2) = 0; an absent class 3 counts only with labels "all".
    const f1 = getMetric('f1_macro');
    expect(aggregate(f1, pairs(g, p), {}, 4)).toBeCloseTo(0.8 / 3, 15);
    expect(aggregate(f1, pairs(g, p), { labels: 'all' }, 4)).toBeCloseTo(0.8 / 4, 15);
    expect(aggregate(f1, pairs(g, p), { labels: 'all', zero_division: 1 }, 4)).toBeCloseTo(1.8 / 4, 15);
    expect(() => aggregate(f1, pairs(g, p), { labels: 'all' })).toThrow(/number of classes/);
  });

  it('a class predicted but never gold scores 0, not undefined', () => {
    // Class 1 has TP = 0, FP = 1, FN = 0: F1 = 0 (the denominator 2TP + FP + FN is 1).
    expect(f1Score([0, 0], [0, 1], { average: 'macro' })).toBeCloseTo((2 / 3 + 0) / 2, 15);
  });

  it('binary F1 (lm-eval f1) refuses more than two classes', () => {
    expect(f1Score([0, 1, 1, 0], [0, 1, 0, 0], { average: 'binary' })).toBeCloseTo(2 / 3, 15);
    expect(() => f1Score([0, 2], [0, 1], { average: 'binary' })).toThrow(/binary F1/);
  });

  it('validates options', () => {
    expect(() => getMetric('f1_macro').parseKwargs({ labels: 'some' }, 'metric_list[0]')).toThrow(/metric_list\[0\]\.labels/);
    expect(() => getMetric('f1_micro').parseKwargs({ average: 'macro' }, 'm')).toThrow(/unknown option/);
  });

  it('micro F1 equals accuracy and macro F1 lies in [0, 1] (property)', () => {
    const labels = fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(labels, (xs) => {
        const g = xs.map((x) => x[0]);
        const p = xs.map((x) => x[1]);
        const acc = xs.filter(([a, b]) => a === b).length / xs.length;
        const macro = f1Score(g, p, { average: 'macro' });
        return Math.abs(f1Score(g, p, { average: 'micro' }) - acc) < 1e-12 && macro >= 0 && macro <= 1;
      }),
    );
  });
});

describe('Matthews correlation', () => {
  it('matches scikit-learn documentation and hand-computed values', () => {
    // matthews_corrcoef([+1, +1, +1, -1], [+1, -1, +1, +1]) == -0.33 (labels renamed to 1 and 0).
    expect(matthewsCorrcoef([1, 1, 1, 0], [1, 0, 1, 1])).toBeCloseTo(-1 / 3, 15);
    // (5·6 − 12) / sqrt((36 − 12)(36 − 14)) for golds [0,0,1,1,2,2], preds [0,0,1,2,2,2].
    expect(matthewsCorrcoef([0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2])).toBeCloseTo(0.7833494518006403, 15);
    expect(matthewsCorrcoef(GOLDS, PREDS)).toBeCloseTo(0.39773868642083765, 15);
  });

  it('is 0 when undefined (a single class among golds or predictions), like sklearn', () => {
    expect(matthewsCorrcoef([0, 1, 2], [1, 1, 1])).toBe(0);
    expect(matthewsCorrcoef([2, 2], [2, 2])).toBe(0);
    expect(matthewsCorrcoef([], [])).toBeNaN();
  });

  it('lies in [-1, 1], is 1 for perfect predictions of two or more classes, and ignores label names (property)', () => {
    const labels = fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(labels, (xs) => {
        const g = xs.map((x) => x[0]);
        const p = xs.map((x) => x[1]);
        const m = matthewsCorrcoef(g, p);
        const renamed = matthewsCorrcoef(g.map((x) => (x + 1) % 4 + 10), p.map((x) => (x + 1) % 4 + 10));
        const perfect = matthewsCorrcoef(g, g);
        return m >= -1 - 1e-12 && m <= 1 + 1e-12 && Math.abs(renamed - m) < 1e-12 && (new Set(g).size < 2 ? perfect === 0 : Math.abs(perfect - 1) < 1e-12);
      }),
    );
  });
});

describe('exact match', () => {
  it('applies Hugging Face evaluate normalisations in order', () => {
    expect(exactMatch('Spam', 'spam')).toBe(0);
    expect(exactMatch('Spam', 'spam', { ignoreCase: true })).toBe(1);
    expect(exactMatch('spam!', 'spam', { ignorePunctuation: true })).toBe(1);
    expect(exactMatch('spam 42', 'spam ', { ignoreNumbers: true })).toBe(1);
    expect(exactMatch('The answer: yes', 'yes', { regexesToIgnore: ['^The answer: '] })).toBe(1);
  });

  it('rejects a bad pattern naming it', () => {
    expect(() => getMetric('exact_match').parseKwargs({ regexes_to_ignore: ['('] }, 'm')).toThrow(/regexes_to_ignore\[0\]/);
  });

  it('compares the predicted and gold texts of a document', () => {
    const em = getMetric('exact_match');
    const kwargs = em.parseKwargs({ ignore_case: true }, 'm');
    expect(em.item({ outputType: 'classification', gold: 1, pred: 0, choices: ['Ham', 'ham'] }, kwargs)).toBe(1);
    expect(em.item({ outputType: 'classification', gold: 1, pred: 0, choices: ['ham', 'spam'] }, kwargs)).toBe(0);
  });

  it('for multiple choice is lm-eval\'s is_greedy of the gold continuation', () => {
    const em = getMetric('exact_match');
    const doc: ScoredDoc = { outputType: 'multiple_choice', gold: 1, pred: 0, loglikelihoods: [-1, -2], greedy: [false, true], choices: ['a', 'b'] };
    expect(em.item(doc, em.parseKwargs({}, 'm'))).toBe(1);
    expect(em.item({ ...doc, greedy: [true, false] }, em.parseKwargs({}, 'm'))).toBe(0);
  });
});

describe('perplexities', () => {
  const docs: MetricItem[] = [
    [-12.5, 3],
    [-40.25, 10],
    [-7.0, 2],
    [-22.75, 6],
    [-3.5, 1],
    [-18.0, 5],
  ];

  it('are corpus-weighted like lm-eval (Σ ll / Σ units), not means of per-document values', () => {
    expect(aggregate(getMetric('word_perplexity'), docs)).toBeCloseTo(47.08016805046616, 10);
    expect(aggregate(getMetric('byte_perplexity'), docs)).toBeCloseTo(Math.exp(104 / 27), 12);
    expect(aggregate(getMetric('token_perplexity'), [[-Math.LN2 * 8, 8]])).toBeCloseTo(2, 12);
    const bpb = aggregate(getMetric('bits_per_byte'), docs);
    expect(bpb).toBeCloseTo(Math.log2(aggregate(getMetric('byte_perplexity'), docs)), 12);
  });

  it('take per-document items from the scored document', () => {
    const doc: ScoredDoc = { outputType: 'loglikelihood_rolling', loglikelihood: -9, tokens: 4, words: 3, bytes: 12 };
    expect(getMetric('word_perplexity').item(doc, {})).toEqual([-9, 3]);
    expect(getMetric('bits_per_byte').item(doc, {})).toEqual([-9, 12]);
    expect(getMetric('token_perplexity').item(doc, {})).toEqual([-9, 4]);
  });
});

describe('bootstrap standard errors against lm-eval (CPython references)', () => {
  it('reproduces bootstrap_stderr for f1 (macro), mcc and weighted perplexity', () => {
    const items = pairs(GOLDS, PREDS);
    const f1 = getMetric('f1_macro');
    const mcc = getMetric('mcc');
    const out = bootstrapStderrs(
      items.length,
      { f1: f1.aggregator(items, {}, {}), mcc: mcc.aggregator(items, {}, {}) },
      { iters: 2000 },
    );
    expect(out.f1).toBeCloseTo(0.11067921151254205, 12);
    expect(out.mcc).toBeCloseTo(0.1662215201191046, 12);
    expect(aggregate(f1, items)).toBeCloseTo(0.5913419913419914, 15);

    const ll: MetricItem[] = [
      [-12.5, 3],
      [-40.25, 10],
      [-7.0, 2],
      [-22.75, 6],
      [-3.5, 1],
      [-18.0, 5],
    ];
    const wppl = getMetric('word_perplexity');
    expect(bootstrapStderrs(ll.length, { w: wppl.aggregator(ll, {}, {}) }, { iters: 3000 }).w).toBeCloseTo(4.536771248034458, 10);
  });
});

describe('results share one confusion count per resample among F1 and MCC', () => {
  it('gives every stderr bit for bit what bootstrapping each metric alone gives, labels options included', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 })), { minLength: 2, maxLength: 30 }), (docs) => {
        const items = docs.map(([g, p]) => [g, p] as const);
        const specs = [
          { metric: 'f1_macro', kwargs: { labels: 'all' } },
          { metric: 'mcc', kwargs: {} },
          { metric: 'f1_micro', kwargs: {} },
        ];
        const config = { task: 't', metric_list: specs.map((m) => ({ ...m, aggregation: 'x', higher_is_better: true })), metadata: { version: 1 } } as unknown as TaskConfig;
        const samples = items.map((item, i) => ({ doc_id: i, f1_macro: item, mcc: item, f1_micro: item })) as unknown as SampleLog[];
        const head = { format: SHARD_FORMAT, config, run: { model: null, model_args: null, batch_size: 1, limit: null }, n_samples: { original: items.length, effective: items.length }, num_classes: 4 } as unknown as ShardResult;
        const row = buildResults(head, samples, { bootstrapIters: 1000, bootstrapSeed: 2 }).results['t'];
        for (const { metric, kwargs } of specs) {
          const alone = bootstrapStderrs(items.length, { s: getMetric(metric).aggregator(items, kwargs, { numClasses: 4 }) }, { iters: 1000, seed: 2 }).s;
          expect(row[`${metric}_stderr,none`]).toBe(Number.isFinite(alone) ? alone : 'N/A');
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('registry', () => {
  it('names every metric once, with an lm-eval aggregation and a stderr rule', () => {
    const names = listMetrics().map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['acc', 'acc_norm', 'f1_macro', 'f1_micro', 'mcc', 'exact_match', 'word_perplexity', 'byte_perplexity', 'bits_per_byte', 'token_perplexity']));
    expect(() => getMetric('bleu')).toThrow(/not registered/);
  });

  it('aggregating at all indices equals aggregating the items; a resample may repeat items', () => {
    const items = pairs(GOLDS, PREDS);
    const at = getMetric('mcc').aggregator(items, {}, {});
    expect(at(allIndices(items.length))).toBe(matthewsCorrcoef(GOLDS, PREDS));
    expect(at([0, 0, 1, 2])).toBe(matthewsCorrcoef([0, 0, 1, 2], [0, 0, 2, 1]));
    expect(getMetric('acc').aggregator([1, 0, 1], {}, {})([2, 2, 1])).toBeCloseTo(2 / 3, 15);
  });

  it('refuses malformed items, naming the first', () => {
    expect(() => getMetric('acc').aggregator([1, [0, 1]], {}, {})).toThrow(/item 1 must be a number/);
    expect(() => getMetric('mcc').aggregator([[0, 1], [1, -1]], {}, {})).toThrow(/item 1 has predicted label -1/);
    expect(() => getMetric('word_perplexity').aggregator([3], {}, {})).toThrow(/item 0 must be a \[number, number\] pair/);
    expect(() => aggregate(getMetric('f1'), [[0, 2]])).toThrow(/binary F1/);
  });
});
