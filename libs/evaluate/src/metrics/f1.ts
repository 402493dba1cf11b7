import { invalidArgument } from '@patchwork/errors';
import { goldPredItem } from './common';
import { ClassCounts, countAll, labelPairs } from './confusion';
import type { AggregationContext, MetricDefinition, MetricItem, MetricKwargs } from './types';

export interface F1Options {
  /**
   * Which classes are scored. Default: those present in the golds or the predictions, which is
   * what scikit-learn's f1_score does without `labels` (and so what lm-eval reports). A class
   * absent from both then does not count at all; pass the full label list to make it count.
   */
  readonly labels?: readonly number[];
  /** F1 of a class with no gold, no predicted and so no true positive document (0/0). Default 0, sklearn's. */
  readonly zeroDivision?: 0 | 1;
}

/** 2TP / (2TP + FP + FN), or `zeroDivision` when all three are 0 (sklearn >= 1.3 defines F1 this way). */
function classF1(counts: ClassCounts, label: number, zeroDivision: number): number {
  const tp = counts.at(counts.tp, label);
  const denom = 2 * tp + counts.at(counts.fp, label) + counts.at(counts.fn, label);
  return denom === 0 ? zeroDivision : (2 * tp) / denom;
}

/** Unweighted mean of per-class F1 (sklearn `average='macro'`). NaN when no class is scored. */
export function macroF1FromCounts(counts: ClassCounts, options: F1Options = {}): number {
  const zeroDivision = options.zeroDivision ?? 0;
  let s = 0;
  let scored = 0;
  if (options.labels !== undefined) {
    for (const label of options.labels) s += classF1(counts, label, zeroDivision);
    scored = options.labels.length;
  } else {
    // The present classes in ascending order, as `counts.present()` lists them, without allocating:
    // this runs once per bootstrap replicate.
    for (let label = 0; label < counts.size; label++) {
      if (counts.goldTotals[label] + counts.predTotals[label] === 0) continue;
      s += classF1(counts, label, zeroDivision);
      scored++;
    }
  }
  return scored === 0 ? Number.NaN : s / scored;
}

/**
 * F1 of the pooled counts (sklearn `average='micro'`); over all present classes of a single-label
 * task it equals accuracy. NaN when there are no documents.
 */
export function microF1FromCounts(counts: ClassCounts, options: F1Options = {}): number {
  if (counts.n === 0) return Number.NaN;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  if (options.labels !== undefined) {
    for (const label of options.labels) {
      tp += counts.at(counts.tp, label);
      fp += counts.at(counts.fp, label);
      fn += counts.at(counts.fn, label);
    }
  } else {
    // Absent classes have no tp, fp or fn, so summing over every class equals summing over the present ones.
    for (let label = 0; label < counts.size; label++) {
      tp += counts.tp[label];
      fp += counts.fp[label];
      fn += counts.fn[label];
    }
  }
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? (options.zeroDivision ?? 0) : (2 * tp) / denom;
}

function binaryOnly(largest: number) {
  return invalidArgument('labels', `binary F1 needs labels 0 and 1 only, got label ${largest}; use f1_macro or f1_micro`);
}

/** F1 of the positive class 1 (sklearn's default `average='binary'`, lm-eval's `f1`). */
export function binaryF1FromCounts(counts: ClassCounts, options: Pick<F1Options, 'zeroDivision'> = {}): number {
  if (counts.size > 2) throw binaryOnly(counts.size - 1);
  if (counts.n === 0) return Number.NaN;
  return classF1(counts, 1, options.zeroDivision ?? 0);
}

function pairsOf(golds: ArrayLike<number>, preds: ArrayLike<number>): MetricItem[] {
  if (golds.length !== preds.length) throw invalidArgument('preds', `has ${preds.length} entries for ${golds.length} golds`);
  return Array.from({ length: golds.length }, (_, i) => [golds[i], preds[i]] as const);
}

/** scikit-learn's `f1_score(golds, preds, average, labels, zero_division)` for single-label data. */
export function f1Score(golds: ArrayLike<number>, preds: ArrayLike<number>, options: F1Options & { average: 'macro' | 'micro' | 'binary' }): number {
  const counts = countAll(labelPairs(pairsOf(golds, preds), 'f1'));
  if (options.average === 'binary') return binaryF1FromCounts(counts, options);
  return options.average === 'macro' ? macroF1FromCounts(counts, options) : microF1FromCounts(counts, options);
}

function parseF1Kwargs(metric: string, allowLabels: boolean) {
  return (raw: MetricKwargs, field: string): MetricKwargs => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
      if (key === 'zero_division') {
        if (value !== 0 && value !== 1) throw invalidArgument(`${field}.zero_division`, `must be 0 or 1, got ${JSON.stringify(value)}`);
        out.zero_division = value;
      } else if (key === 'labels' && allowLabels) {
        if (value !== 'present' && value !== 'all') throw invalidArgument(`${field}.labels`, `must be "present" (classes seen in golds or predictions, sklearn's default) or "all" (every class of the task), got ${JSON.stringify(value)}`);
        out.labels = value;
      } else {
        throw invalidArgument(`${field}.${key}`, `unknown option of ${metric} (expected ${allowLabels ? 'labels, zero_division' : 'zero_division'})`);
      }
    }
    return out;
  };
}

function optionsFor(kwargs: MetricKwargs, context: AggregationContext, metric: string): F1Options {
  const zeroDivision = (kwargs.zero_division ?? 0) as 0 | 1;
  if (kwargs.labels !== 'all') return { zeroDivision };
  if (context.numClasses === undefined) throw invalidArgument('labels', `metric ${metric} with labels "all" needs the task's number of classes`);
  return { zeroDivision, labels: Array.from({ length: context.numClasses }, (_, i) => i) };
}

function f1Metric(name: string, average: 'macro' | 'micro', description: string): MetricDefinition {
  const fromCounts = (kwargs: MetricKwargs, context: AggregationContext) => {
    const options = optionsFor(kwargs, context, name);
    return average === 'macro' ? (counts: ClassCounts) => macroF1FromCounts(counts, options) : (counts: ClassCounts) => microF1FromCounts(counts, options);
  };
  return {
    name,
    description,
    outputTypes: ['classification', 'multiple_choice'],
    higherIsBetter: true,
    aggregation: name,
    stderr: 'bootstrap',
    parseKwargs: parseF1Kwargs(name, true),
    item: (doc) => goldPredItem(doc, name),
    aggregator: (items, kwargs, context) => {
      const pairs = labelPairs(items, name);
      const score = fromCounts(kwargs, context);
      const counts = new ClassCounts(pairs.size);
      return (indices) => score(counts.count(pairs, indices));
    },
    fromCounts,
  };
}

export const f1MacroMetric = f1Metric('f1_macro', 'macro', 'Unweighted mean of per-class F1 over the classes present in golds or predictions (labels: all scores every class).');
export const f1MicroMetric = f1Metric('f1_micro', 'micro', 'F1 of pooled true/false positives and negatives; equals accuracy for single-label tasks over present classes.');

/** lm-eval's `f1` (sklearn's default binary F1 of class 1), for two-class tasks. */
export const f1BinaryMetric: MetricDefinition = {
  name: 'f1',
  description: 'F1 of the positive class 1 (two-class tasks), lm-eval and sklearn default.',
  outputTypes: ['classification', 'multiple_choice'],
  higherIsBetter: true,
  aggregation: 'f1',
  stderr: 'bootstrap',
  parseKwargs: parseF1Kwargs('f1', false),
  item: (doc) => goldPredItem(doc, 'f1'),
  aggregator: (items, kwargs, context) => {
    const pairs = labelPairs(items, 'f1');
    const counts = new ClassCounts(pairs.size);
    if (pairs.size > 2) throw binaryOnly(pairs.size - 1);
    const score = f1BinaryMetric.fromCounts!(kwargs, context);
    return (indices) => score(counts.count(pairs, indices));
  },
  fromCounts: (kwargs) => {
    const options = { zeroDivision: (kwargs.zero_division ?? 0) as 0 | 1 };
    return (counts) => binaryF1FromCounts(counts, options);
  },
};
