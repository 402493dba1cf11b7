import { invalidArgument } from '@patchwork/errors';
import { argmax } from '../stats/argmax';
import { meanAggregator, noKwargs, requireField } from './common';
import type { MetricDefinition } from './types';

/** Length of a string in Unicode code points, which is what Python's len() counts. */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * The choice lm-eval's acc_norm picks: argmax of log-likelihood divided by the choice's length in
 * characters (code points of the choice text, without the target delimiter), first maximum on ties.
 */
export function normalisedChoice(loglikelihoods: readonly number[], choices: readonly string[]): number {
  if (loglikelihoods.length !== choices.length) throw invalidArgument('choices', `${choices.length} choices for ${loglikelihoods.length} log-likelihoods`);
  return argmax(
    loglikelihoods.map((ll, i) => {
      const len = codePointLength(choices[i]);
      if (len === 0) throw invalidArgument(`choices[${i}]`, 'acc_norm needs non-empty choice texts (it divides by their length)');
      return ll / len;
    }),
  );
}

/** lm-eval's `acc_norm`: accuracy of the length-normalised choice. */
export const accNormMetric: MetricDefinition = {
  name: 'acc_norm',
  description: 'Accuracy when each choice log-likelihood is divided by the choice length in characters.',
  outputTypes: ['multiple_choice'],
  higherIsBetter: true,
  aggregation: 'mean',
  stderr: 'mean',
  parseKwargs: noKwargs('acc_norm'),
  item: (doc) => (normalisedChoice(requireField(doc, 'loglikelihoods', 'acc_norm'), requireField(doc, 'choices', 'acc_norm')) === requireField(doc, 'gold', 'acc_norm') ? 1 : 0),
  aggregator: (items) => meanAggregator(items, 'acc_norm'),
};
