import type { ScoredDoc } from '../metrics/types';

/** What evaluating one document produced, before metrics: the pieces of its lm-eval sample line. */
export interface DocOutcome {
  readonly scored: ScoredDoc;
  /** lm-eval's `target`: the gold index, or the scored text for loglikelihood_rolling. */
  readonly target: number | string;
  /** The text the model was prompted with (hashed into prompt_hash). */
  readonly prompt: string;
  /** lm-eval's `arguments`: one `gen_args_i` per request, `arg_0` the context, `arg_1` the continuation. */
  readonly arguments: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly resps: readonly unknown[];
  readonly filteredResps: unknown;
  /** Predicted class or choice index (first argmax); null where nothing is predicted. */
  readonly pred: number | null;
  /** Its label or choice text. */
  readonly predLabel: string | null;
}
