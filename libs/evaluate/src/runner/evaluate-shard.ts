import { PatchworkError } from '@patchwork/errors';
import { type ShardRange, checkShardRange, shardRange } from '../shards/plan';
import { type TaskDocs, loadTaskDocs, validateTaskDocs } from '../tasks/docs';
import { classificationRunner } from './classification';
import { forwardOf } from './evaluable';
import { multipleChoiceRunner } from './multiple-choice';
import { type EvaluateOptions, checkOptions, effectiveCount, throwIfAborted } from './options';
import type { DocOutcome } from './outcome';
import { rollingRunner } from './rolling';
import { type SampleLog, buildSample, prepareMetrics, sha256 } from './samples';
import { SHARD_FORMAT, type ShardResult } from './shard-result';
import { choicesOf } from './templates';

export interface EvaluateShardOptions extends EvaluateOptions {
  /** `{index, count}` splits the documents evenly by whole batches; a full range comes from planShards. */
  readonly shard: { readonly index: number; readonly count: number } | ShardRange;
}

function runnerFor(options: EvaluateOptions, docs: TaskDocs) {
  const forward = forwardOf(options.model, options.adapter);
  const base = { model: options.model, forward, config: options.task, docs, tokenizer: options.tokenizer };
  switch (options.task.output_type) {
    case 'classification':
      return classificationRunner(base);
    case 'multiple_choice':
      return multipleChoiceRunner({ ...base, batchSize: options.batchSize });
    case 'loglikelihood_rolling':
      return rollingRunner({ ...base, batchSize: options.batchSize });
  }
}

/** Number of classes when every document has the same: label names, or a fixed choice list. */
function numClasses(options: EvaluateOptions, docs: TaskDocs): number | null {
  const { task } = options;
  if (task.output_type === 'classification') return docs.labelNames?.length ?? null;
  if (task.output_type !== 'multiple_choice') return null;
  if (typeof task.doc_to_choice === 'string') return docs.labelNames?.length ?? null;
  const first = docs.docs[0];
  return first === undefined ? null : choicesOf(task, first, docs.labelNames, 0).length;
}

function fingerprint(options: EvaluateOptions, docs: TaskDocs, effective: number): string {
  const ids = sha256(docs.docs.slice(0, effective).map((d) => d.id).join('\n'));
  return sha256(
    JSON.stringify({
      config: options.task,
      docs: ids,
      original: docs.docs.length,
      effective,
      batchSize: options.batchSize,
      limit: options.limit ?? null,
      model: options.modelName ?? null,
      modelArgs: options.modelArgs ?? null,
    }),
  );
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Evaluates one shard of a task: the documents in its range, in batches that start at multiples
 * of batchSize counted from the first document of the whole task, so any shard plan aligned to
 * batches reproduces the unsharded run bit for bit. Between batches it yields to the event loop,
 * reports progress and honours `signal` (CANCELLED).
 */
export async function evaluateShard(options: EvaluateShardOptions): Promise<ShardResult> {
  checkOptions(options);
  const { task, batchSize, signal } = options;
  throwIfAborted(signal, task.task);
  const docs = validateTaskDocs(options.docs ?? loadTaskDocs(task));
  const effective = effectiveCount(docs.docs.length, options.limit);
  if (effective === 0) throw new PatchworkError('FAILED_PRECONDITION', `task ${task.task}: split ${task.split} of ${task.dataset} has no documents`);
  const range: ShardRange = 'start' in options.shard ? options.shard : shardRange(effective, options.shard, batchSize);
  checkShardRange(range, effective, batchSize);
  const classes = numClasses(options, docs);
  if (classes !== null && classes > 2 && task.metric_list.some((m) => m.metric === 'f1')) {
    throw new PatchworkError('FAILED_PRECONDITION', `task ${task.task}: metric f1 is binary F1 of class 1, but the task has ${classes} classes; use f1_macro or f1_micro`);
  }
  const metrics = prepareMetrics(task);
  const run = runnerFor(options, docs);
  const samples: SampleLog[] = [];
  const total = range.end - range.start;
  for (let start = range.start; start < range.end; start += batchSize) {
    throwIfAborted(signal, task.task);
    const end = Math.min(range.end, start + batchSize);
    const batch = docs.docs.slice(start, end);
    const outcomes: DocOutcome[] = run(batch, start);
    outcomes.forEach((outcome, i) => samples.push(buildSample(metrics, batch[i], start + i, outcome, docs.labelNames)));
    options.onProgress?.({ task: task.task, shard: { index: range.index, count: range.count }, done: end - range.start, total });
    await yieldToEventLoop();
  }
  return {
    format: SHARD_FORMAT,
    fingerprint: fingerprint(options, docs, effective),
    task: task.task,
    config: task,
    run: { model: options.modelName ?? null, model_args: options.modelArgs ?? null, batch_size: batchSize, limit: options.limit ?? null },
    n_samples: { original: docs.docs.length, effective },
    num_classes: classes,
    shard: { index: range.index, count: range.count, start: range.start, end: range.end },
    samples,
  };
}
