import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { Tokenizer } from '@patchwork/tokenizers';
import type { TaskDocs } from '../tasks/docs';
import type { TaskConfig } from '../tasks/task-config';
import type { EvaluableAdapter, EvaluableModel } from './evaluable';

export interface EvaluateProgress {
  readonly task: string;
  readonly shard: { readonly index: number; readonly count: number };
  /** Documents of this shard evaluated so far, and in all. */
  readonly done: number;
  readonly total: number;
}

export interface EvaluateOptions {
  readonly model: EvaluableModel;
  readonly adapter?: EvaluableAdapter;
  /** A parsed task config (`loadTaskConfig`, `parseTaskYaml`). */
  readonly task: TaskConfig;
  /** The task's documents; loaded from @patchwork/datasets when left out. */
  readonly docs?: TaskDocs;
  /** Required for text tasks. */
  readonly tokenizer?: Tokenizer;
  /** lm-eval's limit: the first N documents, or with 0 < limit < 1 the first ceil(limit · N). */
  readonly limit?: number;
  /** Documents per batch (classification) or sequences per forward (LM tasks). Shard bounds are multiples of it. */
  readonly batchSize: number;
  /** Recorded in results `config.model` / `model_args` and in the shard fingerprint. */
  readonly modelName?: string;
  readonly modelArgs?: string;
  readonly onProgress?: (progress: EvaluateProgress) => void;
  readonly signal?: AbortSignal;
}

/** lm-eval's limit rule; returns the number of documents evaluated. */
export function effectiveCount(total: number, limit: number | undefined): number {
  if (limit === undefined) return total;
  if (!Number.isFinite(limit) || limit <= 0 || (limit >= 1 && !Number.isInteger(limit))) {
    throw new PatchworkError('INVALID_ARGUMENT', `limit: must be a positive integer or a fraction in (0, 1), got ${limit}`);
  }
  return limit < 1 ? Math.ceil(total * limit) : Math.min(total, limit);
}

export function checkOptions(options: EvaluateOptions): void {
  const problems = new ViolationCollector();
  if (options === null || typeof options !== 'object') throw new PatchworkError('INVALID_ARGUMENT', 'options: expected an object');
  if (!options.model || typeof options.model.forward !== 'function') problems.add('model', 'is required (a loaded model)');
  if (!options.task || typeof options.task.task !== 'string') problems.add('task', 'is required (a parsed task config)');
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) problems.add('batchSize', `must be a positive integer, got ${options.batchSize}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') problems.add('onProgress', 'must be a function');
  problems.throwIfAny();
}

export function throwIfAborted(signal: AbortSignal | undefined, task: string): void {
  if (signal?.aborted) throw new PatchworkError('CANCELLED', `evaluation of ${task} was cancelled`, { cause: signal.reason });
}
