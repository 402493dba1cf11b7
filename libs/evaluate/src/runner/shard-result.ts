import type { TaskConfig } from '../tasks/task-config';
import type { ShardRange } from '../shards/plan';
import type { SampleLog } from './samples';

export const SHARD_FORMAT = 'patchwork.evaluate.shard/v1';

/**
 * Everything a reducer needs from one evaluated shard. JSON-serialisable, so it can travel on a
 * work queue; `fingerprint` ties the shards of one job together (config, data, limit, batch size,
 * model name), and `shard.index` makes re-delivered shards count once.
 */
export interface ShardResult {
  readonly format: typeof SHARD_FORMAT;
  readonly fingerprint: string;
  readonly task: string;
  readonly config: TaskConfig;
  readonly run: { readonly model: string | null; readonly model_args: string | null; readonly batch_size: number; readonly limit: number | null };
  readonly n_samples: { readonly original: number; readonly effective: number };
  /** Classes (label names or a fixed number of choices) for metrics that score every class. */
  readonly num_classes: number | null;
  readonly shard: ShardRange;
  /** Samples of documents shard.start .. shard.end - 1, in order. */
  readonly samples: readonly SampleLog[];
}
