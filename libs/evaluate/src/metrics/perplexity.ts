import { noKwargs, pairItems, requireField } from './common';
import type { MetricDefinition, MetricItem, ScoredDoc } from './types';

/**
 * Σ loglikelihood / Σ weight over the items at the indices, summed left to right (lm-eval's
 * weighted_mean).
 */
export function weightedMeanAggregator(items: readonly MetricItem[], metric: string): (indices: ArrayLike<number>) => number {
  const [ll, weight] = pairItems(items, metric);
  return (indices) => {
    let a = 0;
    let b = 0;
    for (let k = 0; k < indices.length; k++) {
      a += ll[indices[k]];
      b += weight[indices[k]];
    }
    return a / b;
  };
}

type Unit = 'tokens' | 'words' | 'bytes';

function perplexityMetric(name: string, unit: Unit, description: string): MetricDefinition {
  return {
    name,
    description,
    outputTypes: ['loglikelihood_rolling'],
    higherIsBetter: false,
    aggregation: 'weighted_perplexity',
    stderr: 'bootstrap',
    parseKwargs: noKwargs(name),
    item: (doc: ScoredDoc) => [requireField(doc, 'loglikelihood', name), requireField(doc, unit, name)],
    aggregator: (items) => {
      const mean = weightedMeanAggregator(items, name);
      return (indices) => Math.exp(-mean(indices));
    },
  };
}

/** exp(−Σ ll / Σ tokens): perplexity per scored token, the model's own unit (tokenizer-dependent). */
export const tokenPerplexityMetric = perplexityMetric('token_perplexity', 'tokens', 'exp(−Σ log-likelihood / Σ tokens) over the corpus.');
/** lm-eval's word_perplexity: words are `re.split(r"\s+", doc)` pieces. */
export const wordPerplexityMetric = perplexityMetric('word_perplexity', 'words', 'exp(−Σ log-likelihood / Σ words) over the corpus; comparable across tokenizers.');
/** lm-eval's byte_perplexity over UTF-8 bytes. */
export const bytePerplexityMetric = perplexityMetric('byte_perplexity', 'bytes', 'exp(−Σ log-likelihood / Σ UTF-8 bytes) over the corpus.');

/** lm-eval's bits_per_byte: −Σ ll / (Σ bytes · ln 2). */
export const bitsPerByteMetric: MetricDefinition = {
  name: 'bits_per_byte',
  description: '−Σ log-likelihood / (Σ UTF-8 bytes · ln 2) over the corpus.',
  outputTypes: ['loglikelihood_rolling'],
  higherIsBetter: false,
  aggregation: 'bits_per_byte',
  stderr: 'bootstrap',
  parseKwargs: noKwargs('bits_per_byte'),
  item: (doc) => [requireField(doc, 'loglikelihood', 'bits_per_byte'), requireField(doc, 'bytes', 'bits_per_byte')],
  aggregator: (items) => {
    const mean = weightedMeanAggregator(items, 'bits_per_byte');
    return (indices) => -mean(indices) / Math.LN2;
  },
};
