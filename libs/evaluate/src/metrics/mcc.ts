import { invalidArgument } from '@patchwork/errors';
import { goldPredItem, noKwargs } from './common';
import { ClassCounts, countAll, labelPairs } from './confusion';
import type { MetricDefinition, MetricItem } from './types';

/**
 * Matthews correlation for any number of classes (Gorodkin's R_K, scikit-learn's
 * matthews_corrcoef): (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)) with c correct, s
 * documents, t_k / p_k gold / predicted counts of class k. Classes absent from both golds and
 * predictions add nothing to any term, so they cannot change it. Defined as 0 when either factor
 * of the denominator is 0 (one class only among the golds or the predictions), as sklearn does;
 * NaN when there are no documents.
 */
export function mccFromCounts(counts: ClassCounts): number {
  if (counts.n === 0) return Number.NaN;
  const s = counts.n;
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (let l = 0; l < counts.size; l++) {
    const t = counts.goldTotals[l];
    const p = counts.predTotals[l];
    tp += t * p;
    pp += p * p;
    tt += t * t;
  }
  const cov = counts.correct * s - tp;
  const covPred = s * s - pp;
  const covGold = s * s - tt;
  if (covPred * covGold === 0) return 0;
  return cov / Math.sqrt(covGold * covPred);
}

export function matthewsCorrcoef(golds: ArrayLike<number>, preds: ArrayLike<number>): number {
  if (golds.length !== preds.length) throw invalidArgument('preds', `has ${preds.length} entries for ${golds.length} golds`);
  const items: MetricItem[] = Array.from({ length: golds.length }, (_, i) => [golds[i], preds[i]] as const);
  return mccFromCounts(countAll(labelPairs(items, 'mcc')));
}

/** lm-eval's `mcc` (aggregation matthews_corrcoef). */
export const mccMetric: MetricDefinition = {
  name: 'mcc',
  description: 'Matthews correlation between gold and predicted classes, multi-class; 0 when undefined.',
  outputTypes: ['classification', 'multiple_choice'],
  higherIsBetter: true,
  aggregation: 'matthews_corrcoef',
  stderr: 'bootstrap',
  parseKwargs: noKwargs('mcc'),
  item: (doc) => goldPredItem(doc, 'mcc'),
  aggregator: (items) => {
    const pairs = labelPairs(items, 'mcc');
    const counts = new ClassCounts(pairs.size);
    return (indices) => mccFromCounts(counts.count(pairs, indices));
  },
  fromCounts: () => mccFromCounts,
};
