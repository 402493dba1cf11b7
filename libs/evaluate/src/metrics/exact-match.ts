import { invalidArgument } from '@patchwork/errors';
import { meanAggregator, requireField } from './common';
import type { MetricDefinition, MetricKwargs } from './types';

export interface ExactMatchOptions {
  /** Patterns removed (every match) from both strings first, in order. JavaScript regular expressions. */
  readonly regexesToIgnore?: readonly string[];
  readonly ignoreCase?: boolean;
  /** Removes the ASCII punctuation of Python's `string.punctuation`. */
  readonly ignorePunctuation?: boolean;
  /** Removes the digits 0-9. */
  readonly ignoreNumbers?: boolean;
}

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const DIGITS = /[0-9]/g;

function normalise(s: string, options: ExactMatchOptions, patterns: readonly RegExp[]): string {
  let out = s;
  for (const p of patterns) out = out.replace(p, '');
  if (options.ignoreCase) out = out.toLowerCase();
  if (options.ignorePunctuation) out = out.replace(PUNCTUATION, '');
  if (options.ignoreNumbers) out = out.replace(DIGITS, '');
  return out;
}

function compile(regexes: readonly string[] | undefined): RegExp[] {
  return (regexes ?? []).map((r, i) => {
    try {
      return new RegExp(r, 'g');
    } catch (error) {
      throw invalidArgument(`regexes_to_ignore[${i}]`, `is not a valid regular expression: ${(error as Error).message}`);
    }
  });
}

/**
 * 1 when the prediction equals the reference after the normalisations of Hugging Face evaluate's
 * exact_match (regexes removed first, then case, punctuation, digits), else 0.
 */
export function exactMatch(prediction: string, reference: string, options: ExactMatchOptions = {}): 0 | 1 {
  const patterns = compile(options.regexesToIgnore);
  return normalise(prediction, options, patterns) === normalise(reference, options, patterns) ? 1 : 0;
}

/** Parsed options with their patterns compiled once. */
interface ParsedOptions extends ExactMatchOptions {
  readonly patterns: readonly RegExp[];
}

const FLAGS = { ignore_case: 'ignoreCase', ignore_punctuation: 'ignorePunctuation', ignore_numbers: 'ignoreNumbers' } as const;

function parseKwargs(raw: MetricKwargs, field: string): MetricKwargs {
  const out: Record<string, unknown> = { patterns: [] };
  for (const [key, value] of Object.entries(raw)) {
    if (key in FLAGS) {
      if (typeof value !== 'boolean') throw invalidArgument(`${field}.${key}`, `must be true or false, got ${JSON.stringify(value)}`);
      out[FLAGS[key as keyof typeof FLAGS]] = value;
    } else if (key === 'regexes_to_ignore') {
      if (!Array.isArray(value) || value.some((r) => typeof r !== 'string')) throw invalidArgument(`${field}.regexes_to_ignore`, 'must be a list of regular expressions');
      out.regexesToIgnore = value;
      out.patterns = compile(value as string[]);
    } else {
      throw invalidArgument(`${field}.${key}`, 'unknown option of exact_match (expected ignore_case, ignore_punctuation, ignore_numbers, regexes_to_ignore)');
    }
  }
  return out;
}

/**
 * Classification: the predicted label text equals the gold one, after the optional
 * normalisations (without options this equals acc). Multiple choice: lm-eval's definition, 1
 * when the gold continuation is exactly the model's greedy decode (is_greedy of the gold choice);
 * the normalisation options do not apply there.
 */
export const exactMatchMetric: MetricDefinition = {
  name: 'exact_match',
  description: 'Classification: predicted label text equals the gold text (optionally normalised). Multiple choice: the gold continuation is the greedy decode.',
  outputTypes: ['classification', 'multiple_choice'],
  higherIsBetter: true,
  aggregation: 'mean',
  stderr: 'mean',
  parseKwargs,
  item: (doc, kwargs) => {
    const gold = requireField(doc, 'gold', 'exact_match');
    if (doc.outputType === 'multiple_choice') return requireField(doc, 'greedy', 'exact_match')[gold] ? 1 : 0;
    const choices = requireField(doc, 'choices', 'exact_match');
    const options = kwargs as unknown as ParsedOptions;
    const patterns = options.patterns ?? compile(options.regexesToIgnore);
    return normalise(choices[requireField(doc, 'pred', 'exact_match')] ?? '', options, patterns) === normalise(choices[gold] ?? '', options, patterns) ? 1 : 0;
  },
  aggregator: (items) => meanAggregator(items, 'exact_match'),
};
