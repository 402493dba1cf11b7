import { type EvaluationOutput, reduceShards } from '../shards/reduce';
import { type EvaluateShardOptions, evaluateShard } from './evaluate-shard';
import type { EvaluateOptions } from './options';
import { type AggregateOptions, buildResults } from './results';
import type { ShardResult } from './shard-result';

export interface EvaluateRunOptions extends EvaluateOptions, AggregateOptions {
  /** Evaluate only this shard: the results then cover its documents alone, and `shard` is what a reducer takes. */
  readonly shard?: EvaluateShardOptions['shard'];
}

export interface EvaluateOutput extends EvaluationOutput {
  /** The reducible record of what was evaluated (shard 0 of 1 for a whole run). */
  readonly shard: ShardResult;
}

/**
 * Evaluates a model (with an optional adapter) on a task and returns lm-eval's results JSON and
 * per-sample logs. A whole run is literally shard 0 of 1 reduced, so `reduceShards` over any
 * batch-aligned shard plan gives the same results and samples.
 */
export async function evaluate(options: EvaluateRunOptions): Promise<EvaluateOutput> {
  const shard = await evaluateShard({ ...options, shard: options.shard ?? { index: 0, count: 1 } });
  if (options.shard === undefined) return { ...reduceShards([shard], options), shard };
  // One shard of several: its own documents aggregated alone, a partial view of the job.
  const results = buildResults({ ...shard, n_samples: { ...shard.n_samples, effective: shard.samples.length } }, shard.samples, options);
  return { results, samples: shard.samples, shard };
}
