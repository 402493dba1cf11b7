import type { SplitFractions, SplitName } from '@patchwork/datasets';
import type { MetricKwargs, OutputType } from '../metrics/types';

/** One entry of `metric_list`: the metric and its options (lm-eval passes extra keys to the metric). */
export interface MetricSpec {
  readonly metric: string;
  readonly aggregation: string;
  readonly higher_is_better: boolean;
  /** Options exactly as written in the config (snake_case), recorded in results `configs`. */
  readonly kwargs: MetricKwargs;
}

export interface DatasetKwargs {
  /** Split seed of @patchwork/datasets (default 0). */
  readonly seed?: number;
  readonly fractions?: SplitFractions;
  /** Corpora only: whole documents or their paragraphs (default 'document'). */
  readonly unit?: 'document' | 'paragraph';
}

/**
 * A task in the spirit of lm-evaluation-harness's TaskConfig, reduced to what this library runs:
 * zero-shot, no generation, no filters. `dataset` names a @patchwork/datasets task (`digits`,
 * `spam`, `sotu-party`, ...) or, for loglikelihood_rolling, a text corpus (`moby-dick`, `sotu`,
 * `spam-ham`). Templates use `{{ field }}` placeholders over the document's fields.
 */
export interface TaskConfig {
  readonly task: string;
  readonly tag?: readonly string[];
  readonly description: string;
  readonly dataset: string;
  readonly dataset_kind: 'task' | 'corpus';
  readonly dataset_kwargs: DatasetKwargs;
  readonly split: SplitName;
  readonly output_type: OutputType;
  readonly doc_to_text: string;
  /** multiple_choice: one template per choice, or a single `{{label_names}}`. */
  readonly doc_to_choice: readonly string[] | string;
  readonly doc_to_target: string;
  readonly target_delimiter: string;
  readonly num_fewshot: 0;
  /** Longest token sequence fed to the model; default: the model's position limit. */
  readonly max_length?: number;
  readonly metric_list: readonly MetricSpec[];
  readonly metadata: { readonly version: number } & Readonly<Record<string, unknown>>;
}

/** What a task's documents expose to templates. */
export interface DocFieldSet {
  readonly scalar: readonly string[];
  readonly list: readonly string[];
}
