import type { ClassCounts } from './confusion';

/** How a task turns documents into model requests (lm-eval's `output_type`, plus classifier heads). */
export type OutputType = 'classification' | 'multiple_choice' | 'loglikelihood_rolling';

export const OUTPUT_TYPES: readonly OutputType[] = ['classification', 'multiple_choice', 'loglikelihood_rolling'];

/** What one evaluated document offers to the metrics. */
export interface ScoredDoc {
  readonly outputType: OutputType;
  /** Gold class or choice index (classification, multiple_choice). */
  readonly gold?: number;
  /** First argmax of the scores (classification: logits; multiple_choice: log-likelihoods). */
  readonly pred?: number;
  /** Per-choice log-likelihoods (multiple_choice). */
  readonly loglikelihoods?: readonly number[];
  /** Per choice: the continuation is exactly the greedy decode (multiple_choice, lm-eval's is_greedy). */
  readonly greedy?: readonly boolean[];
  /** Choice strings (multiple_choice) or label names (classification), indexed like gold/pred. */
  readonly choices?: readonly string[];
  /** Summed log-likelihood of the whole document (loglikelihood_rolling). */
  readonly loglikelihood?: number;
  readonly tokens?: number;
  readonly words?: number;
  readonly bytes?: number;
}

/**
 * One document's contribution to a metric, as written into the per-sample log: a score (acc,
 * exact_match) or a pair (`[gold, pred]` for F1 and MCC, `[loglikelihood, weight]` for the
 * corpus-level perplexities, like lm-eval's tuples).
 */
export type MetricItem = number | readonly [number, number];

/** Facts about the task a metric may need to aggregate. */
export interface AggregationContext {
  /** Number of classes (label names or choices), for metrics asked to score every class. */
  readonly numClasses?: number;
}

export type MetricKwargs = Readonly<Record<string, unknown>>;

export interface MetricDefinition {
  readonly name: string;
  readonly description: string;
  readonly outputTypes: readonly OutputType[];
  readonly higherIsBetter: boolean;
  /** lm-eval's aggregation name, written into task configs (`mean`, `f1_macro`, `weighted_perplexity`, ...). */
  readonly aggregation: string;
  /**
   * `mean`: sample std / sqrt(n) like lm-eval's mean_stderr (the bootstrap estimates the same
   * quantity, with noise); `bootstrap`: lm-eval's seeded bootstrap over documents.
   */
  readonly stderr: 'mean' | 'bootstrap';
  /** Validates and normalises the extra keys of a `metric_list` entry; throws INVALID_ARGUMENT naming `field`. */
  parseKwargs(raw: MetricKwargs, field: string): MetricKwargs;
  /** The document's item. */
  item(doc: ScoredDoc, kwargs: MetricKwargs): MetricItem;
  /**
   * Compiles the aggregation over these items (validating them once); the returned function
   * gives the metric over the items at `indices`, which a bootstrap resample may repeat. It runs
   * once per replicate, so it does no validation or allocation of its own.
   */
  aggregator(items: readonly MetricItem[], kwargs: MetricKwargs, context: AggregationContext): (indices: ArrayLike<number>) => number;
  /**
   * For metrics of `[gold, pred]` items: the metric from a resample's confusion counts, so that
   * several such metrics bootstrap off one count per resample. Same value as `aggregator` (which
   * validates the items, so call it first).
   */
  fromCounts?(kwargs: MetricKwargs, context: AggregationContext): (counts: ClassCounts) => number;
}
