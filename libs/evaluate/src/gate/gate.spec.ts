import { evaluateGate, gateMetrics, parseGateRule } from './gate';
import type { EvalResults } from '../runner/results';

describe('promotion gate', () => {
  const rule = { all: [{ metric: 'accuracy', op: '>=', value: 0.9 }, { metric: 'negative_flip_rate', op: '<=', value: 0.05 }] } as const;

  it('promotes when every condition holds and explains each', () => {
    const d = evaluateGate(rule, { accuracy: 0.93, negative_flip_rate: 0.02 });
    expect(d.promoted).toBe(true);
    expect(d.reasons).toEqual(['accuracy >= 0.9: met (accuracy = 0.93)', 'negative_flip_rate <= 0.05: met (negative_flip_rate = 0.02)']);
  });

  it('rejects when one fails, and still reports all conditions', () => {
    const d = evaluateGate(rule, { accuracy: 0.85, negative_flip_rate: 0.07 });
    expect(d.promoted).toBe(false);
    expect(d.reasons).toHaveLength(2);
    expect(d.reasons[1]).toBe('negative_flip_rate <= 0.05: not met (negative_flip_rate = 0.07)');
  });

  it('treats missing or NaN metrics as failing', () => {
    expect(evaluateGate(rule, { accuracy: 0.95 }).reasons[1]).toMatch(/negative_flip_rate is missing/);
    expect(evaluateGate({ metric: 'acc', op: '>', value: 0 }, { acc: Number.NaN }).promoted).toBe(false);
  });

  it('supports any, nesting and every operator at its boundary', () => {
    const any = { any: [{ metric: 'a', op: '<', value: 1 }, { all: [{ metric: 'b', op: '==', value: 2 }, { metric: 'c', op: '!=', value: 3 }] }] } as const;
    expect(evaluateGate(any, { a: 1, b: 2, c: 4 }).promoted).toBe(true);
    expect(evaluateGate(any, { a: 1, b: 2, c: 3 }).promoted).toBe(false);
    expect(evaluateGate({ metric: 'x', op: '>=', value: 0.5 }, { x: 0.5 }).promoted).toBe(true);
    expect(evaluateGate({ metric: 'x', op: '>', value: 0.5 }, { x: 0.5 }).promoted).toBe(false);
    expect(evaluateGate({ metric: 'x', op: '<=', value: 0.5 }, { x: 0.5 }).promoted).toBe(true);
  });

  it('validates rules, naming each problem', () => {
    expect(() => parseGateRule({ all: [] })).toThrow(/rule\.all: must be a non-empty list/);
    expect(() => parseGateRule({ metric: 'a', op: '=>', value: 1 })).toThrow(/rule\.op/);
    expect(() => parseGateRule({ all: [{ metric: 'a', op: '>', value: 'high' }] })).toThrow(/rule\.all\[0\]\.value/);
    expect(() => parseGateRule({ metric: 'a', op: '>', value: 1, weight: 2 })).toThrow(/rule\.weight/);
  });

  it('flattens results and a compatibility report into gate metric names', () => {
    const results = { results: { digits: { alias: 'digits', 'acc,none': 0.91, 'acc_stderr,none': 0.02, 'mcc,none': null } } } as unknown as EvalResults;
    const metrics = gateMetrics(results, {
      n: 10,
      negative_flip_rate: 0.04,
      positive_flip_rate: 0.1,
      score_difference: { score: 'acc', mean_old: 0.8, mean_new: 0.86, positive_flip_rate: 0.1, negative_flip_rate: 0.04, mean_gain: 1, mean_regression: null },
    });
    expect(metrics).toMatchObject({ acc: 0.91, accuracy: 0.91, 'digits/acc': 0.91, acc_stderr: 0.02, negative_flip_rate: 0.04, positive_flip_rate: 0.1, score_negative_flip_rate: 0.04, score_mean_gain: 1 });
    expect(metrics).not.toHaveProperty('mcc');
    expect(evaluateGate(rule, metrics).promoted).toBe(true);
  });
});
