import { PatchworkError } from '@patchwork/errors';
import { accNormMetric } from './acc-norm';
import { accuracyMetric } from './accuracy';
import { exactMatchMetric } from './exact-match';
import { f1BinaryMetric, f1MacroMetric, f1MicroMetric } from './f1';
import { mccMetric } from './mcc';
import { bitsPerByteMetric, bytePerplexityMetric, tokenPerplexityMetric, wordPerplexityMetric } from './perplexity';
import type { MetricDefinition, OutputType } from './types';

const METRICS: ReadonlyMap<string, MetricDefinition> = new Map(
  [
    accuracyMetric,
    accNormMetric,
    f1MacroMetric,
    f1MicroMetric,
    f1BinaryMetric,
    mccMetric,
    exactMatchMetric,
    tokenPerplexityMetric,
    wordPerplexityMetric,
    bytePerplexityMetric,
    bitsPerByteMetric,
  ].map((m) => [m.name, m]),
);

/** lm-eval's defaults when a task lists no metrics. */
export const DEFAULT_METRICS: Readonly<Record<OutputType, readonly string[]>> = {
  classification: ['acc', 'f1_macro', 'mcc'],
  multiple_choice: ['acc', 'acc_norm'],
  loglikelihood_rolling: ['word_perplexity', 'byte_perplexity', 'bits_per_byte'],
};

export function listMetrics(): MetricDefinition[] {
  return [...METRICS.values()];
}

export function getMetric(name: string): MetricDefinition {
  const metric = METRICS.get(name);
  if (metric === undefined) throw new PatchworkError('NOT_FOUND', `metric "${name}" is not registered; known metrics: ${[...METRICS.keys()].join(', ')}`);
  return metric;
}
