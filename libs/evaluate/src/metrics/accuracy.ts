import { meanAggregator, noKwargs, requireField } from './common';
import type { MetricDefinition } from './types';

/** lm-eval's `acc`: 1 when the first argmax of the scores is the gold index, averaged over documents. */
export const accuracyMetric: MetricDefinition = {
  name: 'acc',
  description: 'Share of documents whose highest-scoring class or choice (first maximum on ties) is the gold one.',
  outputTypes: ['classification', 'multiple_choice'],
  higherIsBetter: true,
  aggregation: 'mean',
  stderr: 'mean',
  parseKwargs: noKwargs('acc'),
  item: (doc) => (requireField(doc, 'pred', 'acc') === requireField(doc, 'gold', 'acc') ? 1 : 0),
  aggregator: (items) => meanAggregator(items, 'acc'),
};
